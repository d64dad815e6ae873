"""What an audit entry is, and its one byte form: RFC 8785 canonical JSON.

A leaf of the log is the canonical JSON of one entry, so anyone holding an entry's JSON (from
the API, an export, a receipt) recomputes the leaf hash without trusting our serialisation:
canonicalising the parsed object again gives the same bytes. The `rfc8785` package does the
canonicalisation (key order by UTF-16 code units, ECMAScript number form, minimal escapes).

    {"v": 1, "seq": 0, "time": "2026-04-01T09:00:00.000000Z", "kind": "negotiation.transition",
     "subject": "urn:uuid:...", "peer": "did:web:...", "details": {...}}

`seq` is the entry's position in the log (gap-free from 0); it is inside the hashed bytes, so
an entry moved to another position no longer matches its leaf.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import rfc8785

from connector.audit.errors import EntryError
from connector.audit.merkle import leaf_hash

__all__ = ["VERSION", "Entry", "canonical_json", "format_time", "parse_time"]

VERSION = 1
_FIELDS = {"v", "seq", "time", "kind", "subject", "peer", "details"}
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


# RFC 8785 and the json module escape strings alike (the two-letter escapes, other control
# characters as lowercase \u00xx, nothing else) and write integers alike; they part only in
# key order (UTF-16 code units against code points, equal for ASCII keys) and in numbers that
# are not integers. Values within that common ground go through json's C encoder, several
# times faster than the pure-Python `rfc8785`; anything else goes to `rfc8785` itself.
_SAFE_INT = 2**53 - 1
_encode = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, check_circular=False
).encode


_string: Callable[[str], str] = json.encoder.encode_basestring


def _common_ground(value: Any) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is str or t is bool or v is None:
            continue
        if isinstance(v, str):  # a StrEnum (roles, messages): both write its characters as is
            continue
        if t is int:
            if -_SAFE_INT <= v <= _SAFE_INT:
                continue
            return False
        if t is dict:
            for k, item in v.items():
                if type(k) is not str or not k.isascii():
                    return False
                stack.append(item)
            continue
        if t is list:
            stack.extend(v)
            continue
        return False  # floats, tuples, other subclasses: rfc8785 decides
    return True


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of a JSON value; EntryError for what JSON cannot carry exactly
    (NaN, integers beyond 2**53, non-string keys, lone surrogates)."""
    if _common_ground(value):
        try:
            return _encode(value).encode()
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 refuses it, with its own words
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise EntryError(f"not canonicalisable as JSON: {exc}", code="entry_not_canonical") from exc


def format_time(at: datetime) -> str:
    """Fixed-width UTC, so one instant has one spelling (naive datetimes are taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    at = at.astimezone(UTC)
    if at.year < 1000:  # isoformat pads the year; keep strftime's spelling for such years
        return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return at.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_time(text: str) -> datetime:
    if not _TIME.fullmatch(text):
        raise EntryError(f"time {text!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    # fromisoformat (C) reads the checked fixed-width form several times faster than strptime
    try:
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    except ValueError:
        raise EntryError(f"time {text!r} is not a real instant") from None


@dataclass(frozen=True)
class Entry:
    seq: int
    time: datetime
    kind: str  # "negotiation.transition", "transfer.transition", "audit.receipt", ...
    subject: str  # what the entry is about: a process, agreement or transfer id
    peer: str  # the other participant's DID ("" when none)
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "seq": self.seq,
            "time": format_time(self.time),
            "kind": self.kind,
            "subject": self.subject,
            "peer": self.peer,
            "details": dict(self.details),
        }

    def canonical(self) -> bytes:
        # The fields' order and spelling are fixed (RFC 8785 sorts the keys: details, kind,
        # peer, seq, subject, time, v): written directly when the details are common ground,
        # the other strings being escaped as json does (the same as rfc8785, see above) and
        # the time ASCII digits; what else there is, `canonical_json` decides (and refuses).
        details = dict(self.details)
        seq, kind, subject, peer = self.seq, self.kind, self.subject, self.peer
        if (
            type(seq) is int
            and -_SAFE_INT <= seq <= _SAFE_INT
            and type(kind) is str
            and type(subject) is str
            and type(peer) is str
            and _common_ground(details)
        ):
            text = (
                f'{{"details":{_encode(details)},"kind":{_string(kind)},"peer":{_string(peer)}'
                f',"seq":{seq},"subject":{_string(subject)}'
                f',"time":"{format_time(self.time)}","v":{VERSION}}}'
            )
            try:
                return text.encode()
            except UnicodeEncodeError:
                pass  # a lone surrogate: canonical_json refuses it
        return canonical_json(self.to_json())

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.canonical())

    @classmethod
    def from_json(cls, data: Any) -> Entry:
        """Read an entry back, strictly: an auditor must not accept a shape we never write."""
        if not isinstance(data, dict) or set(data) != _FIELDS:
            raise EntryError(f"an entry has exactly the fields {sorted(_FIELDS)}")
        if data["v"] != VERSION:
            raise EntryError(f"unknown entry version {data['v']!r}")
        seq = data["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise EntryError("seq must be a non-negative integer")
        for name in ("time", "kind", "subject", "peer"):
            if not isinstance(data[name], str):
                raise EntryError(f"{name} must be a string")
        if not isinstance(data["details"], dict):
            raise EntryError("details must be an object")
        return cls(
            seq=seq,
            time=parse_time(data["time"]),
            kind=data["kind"],
            subject=data["subject"],
            peer=data["peer"],
            details=data["details"],
        )

    @classmethod
    def from_bytes(cls, body: bytes) -> Entry:
        try:
            return cls.from_json(json.loads(body))
        except (ValueError, UnicodeDecodeError) as exc:
            raise EntryError(f"an entry is not JSON: {exc}") from exc

    @classmethod
    def for_event(
        cls,
        seq: int,
        *,
        event_seq: int,
        at: datetime,
        process: str,
        process_id: str,
        role: str,
        direction: str,
        message: str,
        from_state: str | None,
        to_state: str,
        peer_did: str,
        detail: Mapping[str, Any],
    ) -> Entry:
        """The entry for one state change (an `EventRow`); `event` names the row it records."""
        return cls(
            seq=seq,
            time=at,
            kind=f"{process}.transition",
            subject=process_id,
            peer=peer_did,
            details={
                "event": event_seq,
                "role": role,
                "direction": direction,
                "message": message,
                "from": from_state,
                "to": to_state,
                "detail": dict(detail),
            },
        )

    @classmethod
    def for_record(
        cls,
        seq: int,
        *,
        event_seq: int,
        at: datetime,
        kind: str,
        subject: str,
        peer_did: str,
        detail: Mapping[str, Any],
    ) -> Entry:
        """The entry for a recorded fact that is not a state change
        (see `connector.store.audit_records`)."""
        return cls(
            seq=seq,
            time=at,
            kind=kind,
            subject=subject,
            peer=peer_did,
            details={"event": event_seq, **dict(detail)},
        )
