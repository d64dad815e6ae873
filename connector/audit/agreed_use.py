"""Whether the accesses a log records stayed within their agreements' rules.

An `agreement.signed` entry carries the agreed policy (and its SHA-256, which must match);
every `data.access` entry (pull reads and push deliveries alike) names its agreement, when it
was admitted (`started`, else the entry's time) and the decision. The verifier re-decides each
allowed access with `policies.access_terms`, the same reading of the time window (`dateTime`,
`elapsedTime` from the agreement's instant) and count limit the data plane decides with,
counting the agreement's allowed accesses before it in log order. An access the terms refuse,
or one after the agreement's `agreement.revoked` entry, is a finding naming the entry.

An agreement entry without the policy (logs written before it was recorded) cannot be
re-decided: its accesses are left alone rather than guessed at.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connector.audit.entries import Entry, canonical_json, parse_time
from connector.audit.errors import AuditError
from policies.access_terms import AccessTerms, decide_terms, terms_of

if TYPE_CHECKING:
    from connector.audit.verifier import Report

__all__ = ["KINDS", "check_agreed_use"]

KINDS = frozenset({"agreement.signed", "agreement.revoked", "data.access"})


@dataclass
class _Agreement:
    seq: int
    signed: datetime
    terms: tuple[AccessTerms, ...] | None  # None: no policy in the log to re-decide with
    accesses: int = 0
    revoked: datetime | None = None
    revoked_seq: int | None = None
    over: list[int] = field(default_factory=list)


def check_agreed_use(report: Report, entries: Mapping[int, Entry]) -> None:
    agreements: dict[str, _Agreement] = {}
    for seq in sorted(entries):
        entry = entries[seq]
        details = entry.details
        if entry.kind == "agreement.signed":
            agreements[entry.subject] = _Agreement(seq, entry.time, _terms(report, seq, details))
        elif entry.kind == "agreement.revoked":
            found = agreements.get(entry.subject)
            if found is not None and found.revoked is None:
                found.revoked, found.revoked_seq = entry.time, seq
        elif entry.kind == "data.access" and details.get("decision") == "allowed":
            _check_access(report, seq, entry, agreements)


def _terms(report: Report, seq: int, details: Mapping[str, Any]) -> tuple[AccessTerms, ...] | None:
    policy = details.get("policy")
    if policy is None:
        return None
    if not isinstance(policy, dict):
        report.add("agreement_policy_mismatch", f"entry {seq}'s policy is not an object", seq)
        return None
    try:
        digest = hashlib.sha256(canonical_json(policy)).hexdigest()
    except AuditError:  # the entry's own bytes are canonical, so this cannot be reached
        digest = ""
    if digest != details.get("policy_sha256"):
        report.add(
            "agreement_policy_mismatch",
            f"entry {seq}'s policy does not hash to the policy_sha256 it records",
            seq,
        )
        return None
    return terms_of(policy)


def _check_access(
    report: Report, seq: int, entry: Entry, agreements: Mapping[str, _Agreement]
) -> None:
    agreement_id = entry.details.get("agreement")
    agreement = agreements.get(agreement_id) if isinstance(agreement_id, str) else None
    if agreement is None:
        report.add(
            "access_without_agreement",
            f"entry {seq} records an access under agreement {agreement_id!r}, "
            "which this log has no agreement entry for (before it)",
            seq,
        )
        return
    at = _admitted(entry)
    before = agreement.accesses
    agreement.accesses += 1
    if agreement.revoked is not None and at >= agreement.revoked:
        report.add(
            "access_outside_agreement",
            f"entry {seq}: an access allowed at {at.isoformat()} under agreement "
            f"{agreement_id}, revoked at {agreement.revoked.isoformat()} "
            f"(entry {agreement.revoked_seq})",
            seq,
        )
        return
    if agreement.terms is None:
        return
    verdict = decide_terms(agreement.terms, accesses=before, now=at, agreed_at=agreement.signed)
    if not verdict.allowed:
        report.add(
            "access_outside_agreement",
            f"entry {seq}: access {before + 1} under agreement {agreement_id} at "
            f"{at.isoformat()} was allowed, but the agreed policy (entry {agreement.seq}) "
            f"refuses it: {verdict.code}: {verdict.reason}",
            seq,
        )


def _admitted(entry: Entry) -> datetime:
    """When the access was decided: a long read's entry is written when it ends."""
    started = entry.details.get("started")
    if isinstance(started, str):
        try:
            at = parse_time(started)
        except AuditError:
            return entry.time
        return min(at, entry.time)  # never later than the entry that records it
    return entry.time
