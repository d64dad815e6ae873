"""Whether an agreement still lets its consumer read, checked on every data request.

`AccessPolicy` is the hook: the default reads the time window (`dateTime` and `elapsedTime`
constraints) and an access-count limit (`count`) from the agreement's permissions (with
`policies.access_terms`, as the audit verifier does), and honours revocation by the
provider's operator. A richer policy engine plugs in here without touching the data plane.
Rules inside `or` / `xone` constraints were decided when the transfer started and are not
re-read per request (the decision point refuses a `count` there, so no limit hides in them).
A `count` is read with `policies.usage.access_limit`, as the decision point reads it; one
that cannot be read denies rather than leaving the agreement unlimited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from connector.store.dataplane_queries import TransferSnapshot
from policies.access_terms import AccessTerms, decide_terms, terms_of

__all__ = ["AccessPolicy", "AccessTerms", "AccessVerdict", "AgreementAccessPolicy", "terms_of"]


@dataclass(frozen=True)
class AccessVerdict:
    allowed: bool
    code: str = "ok"
    reason: str = ""
    count_limit: int | None = None  # when set, the caller counts this access against it


class AccessPolicy(Protocol):
    def check(self, snapshot: TransferSnapshot, now: datetime) -> AccessVerdict: ...


class AgreementAccessPolicy:
    """The default hook. Terms are parsed once per agreement (agreements never change)."""

    def __init__(self) -> None:
        self._terms: dict[str, tuple[AccessTerms, ...]] = {}

    def check(self, snapshot: TransferSnapshot, now: datetime) -> AccessVerdict:
        if snapshot.revoked_at is not None:
            return AccessVerdict(
                False,
                "agreement_revoked",
                "the provider revoked the agreement: "
                + (snapshot.revoked_reason or "no reason given"),
            )
        terms = self._terms.get(snapshot.agreement_id)
        if terms is None:
            terms = self._terms[snapshot.agreement_id] = terms_of(snapshot.policy or {})
        verdict = decide_terms(
            terms, accesses=snapshot.accesses, now=now, agreed_at=snapshot.agreed_at
        )
        return AccessVerdict(verdict.allowed, verdict.code, verdict.reason, verdict.count_limit)
