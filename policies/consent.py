"""Consent records for personal data, shaped after ISO/IEC TS 27560 and the DPV.

A record says that a data subject (a pseudonymous id, never a name) let a controller (the
owner's connector, by DID) share their personal data with some recipients (participant DIDs,
or roles such as `role:municipality`) for some purposes (the profile's purpose concepts, or
DPV's), on a legal basis, within a validity period. Its status history is append-only: given,
then perhaps withdrawn (by the subject) or expired (when the validity ends).

The one rule everything else relies on, `ConsentRecord.covers`:

    a record covers an access for purposes Ps by recipient R (optionally of dataset D) at T
    when at T its status is *given* (not withdrawn, not expired, T inside [from, until)),
    every purpose in Ps is one of the record's purposes or narrower than one (`isA`),
    R is one of its recipients (a DID, or a role the access is known to hold),
    and D is one of its datasets when the record names any.

An access with no stated purpose is covered by nothing: consent is always for something.
The store runs the same rule as one SQL query (connector/store/consent_queries.py).

JSON-LD uses DPV terms (`https://w3id.org/dpv#`) and declares the DPVCG's ISO/IEC TS 27560
profile with `dct:conformsTo`; `to_jsonld` / `from_jsonld` round-trip a record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from policies.errors import PolicyError
from policies.purposes import PurposeTree

DPV = "https://w3id.org/dpv#"
DCT = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RECORD_PROFILE = "https://w3id.org/dpv/schema/dpv-27560#record"
RECEIPT_PROFILE = "https://w3id.org/dpv/schema/dpv-27560#receipt-record"
ROLE = "https://w3id.org/tsunagu/vocab/role/"
"""Roles as recipients: `role:municipality` is short for `<ROLE>municipality`."""

CONTEXT: dict[str, Any] = {
    "dpv": DPV,
    "dct": DCT,
    "dcat": DCAT,
    "xsd": XSD,
}

MAX_ITEMS = 64
MAX_GRANTS = 1024
"""Purposes x recipients x datasets of one record: each combination is a row the store keeps."""
MAX_TEXT = 512


class InvalidConsent(PolicyError):
    """A consent record (or a change to one) that cannot be accepted as written."""

    code = "invalid_consent"


class ConsentStatus(StrEnum):
    GIVEN = "ConsentGiven"
    WITHDRAWN = "ConsentWithdrawn"
    EXPIRED = "ConsentExpired"

    @property
    def iri(self) -> str:
        return DPV + self.value

    @property
    def word(self) -> str:
        """given / withdrawn / expired, as the API and the CLI show it."""
        return self.value.removeprefix("Consent").lower()


LEGAL_BASES = frozenset(
    DPV + name
    for name in ("Consent", "InformedConsent", "ExpressedConsent", "ExplicitlyExpressedConsent")
)
DEFAULT_LEGAL_BASIS = DPV + "InformedConsent"


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """One entry of the status history (ISO/IEC TS 27560 events: state, time, who, how)."""

    status: ConsentStatus
    at: datetime
    by: str = ""
    """Who indicated it (`dpv:isIndicatedBy`): the subject, a portal, the operator."""
    method: str = ""
    """How (`dpv:hasIndicationMethod`): `management-api`, `portal:<name>`, `validity-ended`."""


@dataclass(frozen=True, slots=True)
class ConsentScope:
    """What one access asks consent for: the agreement's purposes, who receives (the
    consumer's DID and any role the agreement guarantees), and which dataset."""

    purposes: frozenset[str] | None
    """None: the agreement allows any purpose, which no consent covers."""
    recipients: frozenset[str]
    dataset: str | None = None


@dataclass(frozen=True)
class ConsentRecord:
    id: str
    subject: str
    controller: str
    purposes: tuple[str, ...]
    recipients: tuple[str, ...]
    valid_from: datetime
    events: tuple[StatusEvent, ...]
    valid_until: datetime | None = None
    """Exclusive: the consent no longer holds at this instant."""
    legal_basis: str = DEFAULT_LEGAL_BASIS
    datasets: tuple[str, ...] = ()
    """The datasets it is about (`dpv:hasPersonalData`); empty: any of the controller's."""
    notice: str | None = None
    """The notice the subject was shown (`dpv:hasNotice`), an IRI."""
    language: str = "ja"
    created_at: datetime | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _check_text(self.id, "/id")
        _check_text(self.subject, "/subject")
        _check_text(self.controller, "/controller")
        if not self.events:
            raise InvalidConsent("a consent record starts with its giving", path="/events")
        for name in ("purposes", "recipients", "datasets"):  # one order: a set, in effect
            object.__setattr__(self, name, tuple(sorted(getattr(self, name))))
        _check_iris(self.purposes, "/purposes", required=True)
        _check_iris(self.recipients, "/recipients", required=True)
        _check_iris(self.datasets, "/datasets", required=False, iri=False)
        grants = len(self.purposes) * len(self.recipients) * max(1, len(self.datasets))
        if grants > MAX_GRANTS:
            raise InvalidConsent(
                f"one record covers at most {MAX_GRANTS} purpose x recipient x dataset "
                f"combinations ({grants} here); split it into several records"
            )
        for name in ("valid_from", "valid_until"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise InvalidConsent(f"{name} needs a time zone", path=f"/{name}")
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise InvalidConsent("the consent ends before it starts", path="/valid_until")
        if self.legal_basis not in LEGAL_BASES:
            raise InvalidConsent(
                f"legal basis {self.legal_basis!r} is not a kind of consent; use one of "
                + ", ".join(sorted(b.removeprefix(DPV) for b in LEGAL_BASES)),
                path="/legal_basis",
            )

    # -- status ------------------------------------------------------------------------------

    def recorded_status(self, at: datetime) -> ConsentStatus | None:
        """The last status indicated at or before `at` (None before the consent was given)."""
        current = None
        for event in self.events:
            if event.at <= at:
                current = event.status
        return current

    def status(self, at: datetime) -> ConsentStatus | None:
        """The status at `at`, expiry included: given consent past `valid_until` is expired
        whether or not the expiry was recorded yet."""
        current = self.recorded_status(at)
        if current is ConsentStatus.GIVEN and self.valid_until is not None:
            if at >= self.valid_until:
                return ConsentStatus.EXPIRED
        return current

    def permits(self, at: datetime) -> bool:
        """Valid for processing at `at`: given, not withdrawn or expired, inside its period."""
        return self.status(at) is ConsentStatus.GIVEN and at >= self.valid_from

    def with_event(self, event: StatusEvent) -> ConsentRecord:
        """The record with one more status event; only given consent can change."""
        now = self.recorded_status(event.at)
        if now is not ConsentStatus.GIVEN:
            word = now.word if now is not None else "not given yet"
            raise InvalidConsent(
                f"consent {self.id} is {word}; a withdrawn or expired consent stays so "
                "(give a new one instead)",
                code="consent_not_active",
            )
        if self.events and event.at < self.events[-1].at:
            raise InvalidConsent("status events are recorded in time order", path="/events")
        return replace(self, events=(*self.events, event))

    # -- the rule ----------------------------------------------------------------------------

    def covers(
        self, scope: ConsentScope, at: datetime, purposes: PurposeTree | None = None
    ) -> bool:
        if not self.permits(at) or not scope.purposes:
            return False
        if self.datasets and scope.dataset not in self.datasets:
            return False
        if not any(r in scope.recipients for r in self.recipients):
            return False
        return all(self._covers_purpose(p, purposes) for p in scope.purposes)

    def _covers_purpose(self, purpose: str, tree: PurposeTree | None) -> bool:
        if purpose in self.purposes:
            return True
        return tree is not None and any(tree.is_a(purpose, mine) for mine in self.purposes)

    # -- JSON-LD -----------------------------------------------------------------------------

    def to_jsonld(self, *, at: datetime | None = None) -> dict[str, Any]:
        """The record in DPV terms; with `at`, also its status at that instant."""
        process: dict[str, Any] = {
            "@type": "dpv:Process",
            "dpv:hasPurpose": [{"@id": p} for p in self.purposes],
            "dpv:hasRecipient": [{"@id": r} for r in self.recipients],
        }
        if self.datasets:
            process["dpv:hasPersonalData"] = [{"@id": d} for d in self.datasets]
        period: dict[str, Any] = {
            "@type": "dct:PeriodOfTime",
            "dcat:startDate": _time(self.valid_from),
        }
        if self.valid_until is not None:
            period["dcat:endDate"] = _time(self.valid_until)
        out: dict[str, Any] = {
            "@context": dict(CONTEXT),
            "@id": self.id,
            "@type": "dpv:ConsentRecord",
            "dct:conformsTo": {"@id": RECORD_PROFILE},
            "dct:identifier": self.id,
            "dpv:hasDataSubject": {"@type": "dpv:DataSubject", "dct:identifier": self.subject},
            "dpv:hasDataController": {"@id": self.controller},
            "dpv:hasLegalBasis": {"@id": self.legal_basis},
            "dpv:hasProcess": process,
            "dct:valid": period,
            "dct:language": self.language,
            "dpv:hasStatus": [_event_jsonld(e) for e in self.events],
        }
        if self.notice:
            out["dpv:hasNotice"] = {"@id": self.notice}
        if self.created_at is not None:
            out["dct:created"] = _time(self.created_at)
        if at is not None:
            status = self.status(at)
            if status is not None:
                out["dpv:hasConsentStatus"] = {"@id": status.iri}
        return out

    def to_json(self, at: datetime) -> dict[str, Any]:
        """The plain form the management API and the CLI show."""
        status = self.status(at)
        return {
            "id": self.id,
            "subject": self.subject,
            "controller": self.controller,
            "purposes": list(self.purposes),
            "recipients": [short_recipient(r) for r in self.recipients],
            "datasets": list(self.datasets),
            "legal_basis": self.legal_basis.removeprefix(DPV),
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "notice": self.notice,
            "status": status.word if status is not None else "pending",
            "history": [
                {
                    "status": e.status.word,
                    "at": e.at.isoformat(),
                    "by": e.by,
                    "method": e.method,
                }
                for e in self.events
            ],
        }


def from_jsonld(data: Mapping[str, Any]) -> ConsentRecord:
    """Read back what `to_jsonld` wrote (the compact form with this module's context)."""
    try:
        if data.get("@type") != "dpv:ConsentRecord":
            raise InvalidConsent("not a dpv:ConsentRecord", path="/@type")
        process = data["dpv:hasProcess"]
        period = data["dct:valid"]
        events = tuple(
            StatusEvent(
                ConsentStatus(e["dpv:hasConsentStatus"]["@id"].removeprefix(DPV)),
                _parse_time(e["dpv:isIndicatedAtTime"]["@value"]),
                e.get("dpv:isIndicatedBy", {}).get("@id", ""),
                e.get("dpv:hasIndicationMethod", ""),
            )
            for e in data["dpv:hasStatus"]
        )
        end = period.get("dcat:endDate")
        return ConsentRecord(
            id=data["@id"],
            subject=data["dpv:hasDataSubject"]["dct:identifier"],
            controller=data["dpv:hasDataController"]["@id"],
            purposes=tuple(p["@id"] for p in process["dpv:hasPurpose"]),
            recipients=tuple(r["@id"] for r in process["dpv:hasRecipient"]),
            datasets=tuple(d["@id"] for d in process.get("dpv:hasPersonalData", [])),
            legal_basis=data["dpv:hasLegalBasis"]["@id"],
            valid_from=_parse_time(period["dcat:startDate"]["@value"]),
            valid_until=_parse_time(end["@value"]) if end else None,
            notice=(data.get("dpv:hasNotice") or {}).get("@id"),
            language=data.get("dct:language", "ja"),
            events=events,
            created_at=_parse_time(data["dct:created"]["@value"])
            if "dct:created" in data
            else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, InvalidConsent):
            raise
        raise InvalidConsent(f"not a consent record in this form: {exc!r}") from None


# -- what an access asks for ------------------------------------------------------------------


def recipient_iri(value: str) -> str:
    """`role:municipality` -> the role's IRI; DIDs and other IRIs stay as they are."""
    if value.startswith("role:"):
        name = value.removeprefix("role:")
        if not name or "/" in name:
            raise InvalidConsent(f"{value!r} is not a role name", path="/recipients")
        return ROLE + name
    return value


def short_recipient(iri: str) -> str:
    return "role:" + iri.removeprefix(ROLE) if iri.startswith(ROLE) else iri


def new_record(
    data: Mapping[str, Any],
    *,
    record_id: str,
    controller: str,
    now: datetime,
    by: str,
    method: str,
) -> ConsentRecord:
    """A consent given now, from what the operator or a portal sent (InvalidConsent naming
    the field when something is wrong)."""
    if not isinstance(data, Mapping):
        raise InvalidConsent("a consent is a JSON object")
    known = {
        "subject",
        "purposes",
        "recipients",
        "datasets",
        "legal_basis",
        "valid_from",
        "valid_until",
        "notice",
        "language",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidConsent(f"unknown fields {unknown}; allowed: {sorted(known)}")
    subject = data.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidConsent("the data subject's id is required", path="/subject")
    basis = data.get("legal_basis") or DEFAULT_LEGAL_BASIS
    if not isinstance(basis, str):
        raise InvalidConsent("legal_basis is a DPV consent type", path="/legal_basis")
    valid_from = _input_time(data.get("valid_from"), "/valid_from") or now
    language = data.get("language", "ja")
    if not isinstance(language, str) or not 0 < len(language) <= 16:
        raise InvalidConsent("language is a BCP 47 tag such as 'ja'", path="/language")
    notice = data.get("notice")
    if notice is not None and (not isinstance(notice, str) or ":" not in notice):
        raise InvalidConsent("notice is the IRI of the notice shown", path="/notice")
    return ConsentRecord(
        id=record_id,
        subject=subject.strip(),
        controller=controller,
        purposes=_strings(data.get("purposes"), "/purposes"),
        recipients=tuple(recipient_iri(r) for r in _strings(data.get("recipients"), "/recipients")),
        datasets=_strings(data.get("datasets", []), "/datasets"),
        legal_basis=basis if basis.startswith(("http://", "https://")) else DPV + basis,
        valid_from=valid_from,
        valid_until=_input_time(data.get("valid_until"), "/valid_until"),
        notice=notice,
        language=language,
        events=(StatusEvent(ConsentStatus.GIVEN, now, by, method),),
        created_at=now,
    )


def lineage(purpose: str, tree: PurposeTree | None) -> frozenset[str]:
    """`purpose` and every broader concept: the consent purposes that cover it."""
    return tree.lineage(purpose) if tree is not None else frozenset({purpose})


# -- helpers -----------------------------------------------------------------------------------


def _check_text(value: object, path: str) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise InvalidConsent(f"a non-empty string of at most {MAX_TEXT} characters", path=path)


def _check_iris(values: Sequence[str], path: str, *, required: bool, iri: bool = True) -> None:
    if required and not values:
        raise InvalidConsent("at least one is required", path=path)
    if len(values) > MAX_ITEMS:
        raise InvalidConsent(f"at most {MAX_ITEMS}", path=path)
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
            raise InvalidConsent(f"{value!r} is not an identifier", path=f"{path}/{i}")
        if iri and ":" not in value:
            raise InvalidConsent(f"{value!r} is not an IRI", path=f"{path}/{i}")
        if any(c.isspace() for c in value):
            raise InvalidConsent(f"{value!r} contains white space", path=f"{path}/{i}")


def _strings(value: object, path: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidConsent("a list of strings", path=path)
    return tuple(dict.fromkeys(v.strip() for v in value))  # in order, without repeats


def _input_time(value: object, path: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidConsent(f"{value!r} is not an ISO 8601 date-time", path=path) from None
    else:
        raise InvalidConsent("an ISO 8601 date-time with a time zone", path=path)
    if moment.utcoffset() is None:
        raise InvalidConsent(f"{value!r} has no time zone", path=path)
    return moment


def _time(value: datetime) -> dict[str, str]:
    return {"@value": value.isoformat(), "@type": "xsd:dateTime"}


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.utcoffset() is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment


def _event_jsonld(event: StatusEvent) -> dict[str, Any]:
    out: dict[str, Any] = {
        "@type": "dpv:ConsentStatus",
        "dpv:hasConsentStatus": {"@id": event.status.iri},
        "dpv:isIndicatedAtTime": _time(event.at),
    }
    if event.by:
        out["dpv:isIndicatedBy"] = {"@id": event.by}
    if event.method:
        out["dpv:hasIndicationMethod"] = event.method
    return out


def union(values: Iterable[frozenset[str]]) -> frozenset[str]:
    out: set[str] = set()
    for v in values:
        out |= v
    return frozenset(out)
