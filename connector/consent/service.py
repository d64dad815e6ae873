"""Giving, withdrawing and reading consent records; resident portals.

Called by the management API (the operator, recording what a resident signed at the town
hall) and by the resident portal endpoint (a portal acting for one subject at a time). Every
change is one transaction: the record, its status event, the signed receipt and the audit
event (connector/store/consent_queries.py). After the commit the data plane hears of it, so
live streams stop carrying a withdrawn subject at once; finite reads ask afresh anyway.

Blocking (database and signing): the API runs these through `Store.call`.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from connector.clock import Clock
from connector.errors import MessageError, Unauthenticated
from connector.identity.keys import KeyRing
from connector.identity.receipts import sign_receipt
from connector.store.consent_queries import Change, ConsentQueries
from connector.store.consent_tables import ConsentPortalRow
from policies.consent import (
    DPV,
    ROLE,
    ConsentRecord,
    ConsentStatus,
    InvalidConsent,
    StatusEvent,
    new_record,
)
from policies.purposes import PurposeTree, vocabulary_purposes

TSUNAGU_PURPOSES = "https://w3id.org/tsunagu/vocab/purpose/"
OPERATOR_METHOD = "management-api"

Changed = Callable[[ConsentRecord, bool], None]
"""(the record, withdrawn) after a change is committed."""


def portal_agent(name: str) -> str:
    return f"urn:tsunagu:consent-portal:{name}"


class ConsentService:
    def __init__(
        self,
        queries: ConsentQueries,
        keys: KeyRing,
        clock: Clock,
        *,
        own_did: str,
        purposes: Callable[[], PurposeTree | None] = vocabulary_purposes,
        changed: Changed | None = None,
    ) -> None:
        self.queries = queries
        self.keys = keys
        self.clock = clock
        self.own_did = own_did
        self._purposes = purposes
        self._changed = changed

    # -- changes ----------------------------------------------------------------------------

    def give(
        self, data: Mapping[str, Any], *, by: str, method: str, direction: str = "local"
    ) -> dict[str, Any]:
        now = self.clock()
        record = self._checked(
            lambda: new_record(
                data,
                record_id=f"urn:uuid:{uuid.uuid4()}",
                controller=self.own_did,
                now=now,
                by=by,
                method=method,
            )
        )
        change = self.queries.give(record, self._sign, direction=direction)
        self._notify(change.record, withdrawn=False)
        return self._shown(change, now)

    def withdraw(
        self,
        record_id: str,
        *,
        by: str,
        method: str,
        direction: str = "local",
        subject: str | None = None,
    ) -> dict[str, Any]:
        now = self.clock()
        self.expire_due()  # an expired consent is reported as such, not as withdrawn
        event = StatusEvent(ConsentStatus.WITHDRAWN, now, by, method)
        change = self._checked(
            lambda: self.queries.change(
                record_id, event, self._sign, direction=direction, subject=subject
            )
        )
        self._notify(change.record, withdrawn=True)
        return self._shown(change, now)

    def expire_due(self) -> int:
        """Record the expiry of consents whose validity ended (each with its receipt)."""
        done = 0
        for record_id in self.queries.expired_given(self.clock()):
            record = self.queries.record(record_id)
            assert record.valid_until is not None
            event = StatusEvent(
                ConsentStatus.EXPIRED, record.valid_until, self.own_did, "validity-ended"
            )
            try:
                self.queries.change(record_id, event, self._sign, direction="local")
            except InvalidConsent:
                continue  # withdrawn meanwhile
            done += 1
        return done

    # -- reads ------------------------------------------------------------------------------

    def show(self, record_id: str, *, subject: str | None = None) -> dict[str, Any]:
        self.expire_due()
        now = self.clock()
        record = self.queries.record(record_id, subject=subject)
        out = record.to_json(now)
        out["jsonld"] = record.to_jsonld(at=now)
        out["receipts"] = self.queries.receipts(record_id)
        return out

    def records(
        self,
        *,
        subject: str | None = None,
        status: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        self.expire_due()
        if status is not None and status not in {s.word for s in ConsentStatus}:
            raise MessageError(
                f"status {status!r} is not one of given, withdrawn, expired", code="invalid_status"
            )
        now = self.clock()
        records = self.queries.records(subject=subject, status=status, limit=limit, offset=offset)
        return [r.to_json(now) for r in records]

    # -- resident portals -------------------------------------------------------------------

    def add_portal(self, name: str) -> dict[str, Any]:
        """A portal and its token (shown once; only its hash is kept)."""
        if not name or len(name) > 256 or any(c.isspace() for c in name):
            raise MessageError("a portal's name is one word of at most 256 characters")
        token = "tsc_" + secrets.token_urlsafe(32)
        row = ConsentPortalRow(
            id=uuid.uuid4().hex,
            name=name,
            token_hash=_hash(token),
            created_at=self.clock(),
        )
        self.queries.add_portal(row)
        return {**_portal(row), "token": token}

    def portals(self) -> list[dict[str, Any]]:
        return [_portal(row) for row in self.queries.portals()]

    def revoke_portal(self, portal_id: str) -> dict[str, Any]:
        return _portal(self.queries.revoke_portal(portal_id, self.clock()))

    def portal(self, authorization: str | None) -> ConsentPortalRow:
        """The portal a request comes from (its bearer token), or Unauthenticated."""
        scheme, _, token = (authorization or "").partition(" ")
        row = None
        if scheme.lower() == "bearer" and token.strip():
            row = self.queries.portal_by_token(_hash(token.strip()))
        if row is None:
            raise Unauthenticated(
                "the consent portal API needs `Authorization: Bearer <portal token>` "
                "(`tsunagu consent portal add`)",
                code="portal_unauthenticated",
            )
        return row

    # -- helpers ----------------------------------------------------------------------------

    def _checked(self, make: Callable[[], Any]) -> Any:
        try:
            value = make()
        except InvalidConsent as exc:
            raise MessageError(exc.message, code=exc.code) from exc
        if isinstance(value, ConsentRecord):
            self._check_terms(value)
        return value

    def _check_terms(self, record: ConsentRecord) -> None:
        tree = self._purposes()
        known = tree.concepts() if tree is not None else frozenset()
        for purpose in record.purposes:
            if purpose.startswith(DPV):
                continue
            if purpose.startswith(TSUNAGU_PURPOSES) and purpose in known:
                continue
            raise MessageError(
                f"purpose {purpose!r} is neither a purpose of the shared vocabulary nor a DPV "
                f"purpose (known: {', '.join(sorted(known))})",
                code="unknown_purpose",
            )
        for recipient in record.recipients:
            if not recipient.startswith(("did:", ROLE)):
                raise MessageError(
                    f"recipient {recipient!r} is neither a participant DID nor a role "
                    "(`role:municipality`)",
                    code="invalid_recipient",
                )

    def _sign(self, record: ConsentRecord, event: StatusEvent) -> tuple[str, str]:
        receipt_id = f"urn:uuid:{uuid.uuid4()}"
        return receipt_id, sign_receipt(self.keys.active, record, event, receipt_id=receipt_id)

    def _notify(self, record: ConsentRecord, *, withdrawn: bool) -> None:
        if self._changed is not None:
            self._changed(record, withdrawn)

    def _shown(self, change: Change, now: datetime) -> dict[str, Any]:
        return {
            **change.record.to_json(now),
            "receipt": {"id": change.receipt_id, "receipt": change.receipt},
        }


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _portal(row: ConsentPortalRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "created_at": row.created_at.isoformat(),
        "revoked": row.revoked_at is not None,
    }
