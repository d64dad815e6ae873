"""Every data-plane access decided by the policy decision point, on the agreement's stored
policy: the consumer's claims as verified when its transfer started, the agreement's stated
purpose, the time since the agreement (`elapsedTime`), accesses so far (`count`), the previous
access (`timeInterval`), the owner's alert state (`event`) and the decision instant.

A `count` is decided here (uses so far below the limit) and then counted by the data plane
with one conditional UPDATE (`count_access`), so two concurrent reads never over-use it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connector.dataplane.access import AccessVerdict, AgreementAccessPolicy
from connector.policy.facts import _conjuncts, agreed_payment, denial_of, stated_purpose
from connector.protocol.roles import Role
from connector.store.dataplane_queries import TransferSnapshot
from connector.store.policy_queries import context, contexts
from connector.store.store import Store
from policies.decision import Decision, DecisionPoint, DecisionRequest, Payment
from policies.errors import PolicyError
from policies.model import Policy
from policies.odrl import parse_policy
from policies.usage import COUNT, access_limit


@dataclass(frozen=True)
class AgreedTerms:
    """An agreement's policy, read once: agreements never change."""

    policy: Policy | None
    purpose: str | None
    limits: tuple[int | None, ...]  # the access limit of each permission (None: unlimited)
    problem: str = ""
    payment: Payment | None = None  # committed by agreeing (a compensate duty's amount)
    attribute: bool = False  # the agreement owes attribution: the data plane names the source


@dataclass(frozen=True)
class Requester:
    claims: dict[str, Any]
    purpose: str | None


def agreed_terms(data: dict[str, Any]) -> AgreedTerms:
    try:
        policy = parse_policy(data)
    except PolicyError as exc:
        return AgreedTerms(None, None, (), f"the agreement's policy cannot be read: {exc}")
    limits: list[int | None] = []
    for rule in policy.permissions:
        limit: int | None = None
        for c in _conjuncts(rule.constraints):
            if c.left_operand == COUNT:
                try:
                    n = access_limit(c)
                except PolicyError:
                    n = 0  # the decision point refuses it too: nothing is counted past it
                limit = n if limit is None else min(limit, n)
        limits.append(limit)
    attribute = any(d.action == "attribute" for r in policy.permissions for d in r.duties) or any(
        o.action == "attribute" for o in policy.obligations
    )
    return AgreedTerms(
        policy,
        stated_purpose(policy),
        tuple(limits),
        attribute=attribute,
        payment=agreed_payment(policy),
    )


class DecisionAccessPolicy:
    """The data plane's `AccessPolicy` hook, deciding with the connector's decision point."""

    def __init__(self, pdp: DecisionPoint, store: Store, *, enabled: bool = True) -> None:
        self.pdp = pdp
        self.store = store
        self.enabled = enabled  # benchmarks/policy.py measures reads with it off
        self._terms: dict[str, AgreedTerms] = {}
        self._requesters: dict[str, Requester] = {}
        self._lock = threading.Lock()
        self._consumer_side = AgreementAccessPolicy()

    def check(self, snapshot: TransferSnapshot, now: datetime) -> AccessVerdict:
        if snapshot.revoked_at is not None:
            return AccessVerdict(
                False,
                "agreement_revoked",
                "the provider revoked the agreement: "
                + (snapshot.revoked_reason or "no reason given"),
            )
        if snapshot.role != Role.PROVIDER:
            # Our own consumer-side streams (proxied to our operator): the provider decides;
            # we only keep to the agreement's period and revocation as we know them.
            return self._consumer_side.check(snapshot, now)
        if not self.enabled:
            return AccessVerdict(True)
        decision, terms = self.decide(snapshot, now)
        if terms.policy is None:
            return AccessVerdict(False, "agreement_denies", terms.problem)
        if not decision.allowed:
            code = denial_of(decision).code
            limits = [n for n in terms.limits if n is not None]
            if code == "access_limit_reached" and limits:
                reason = f"the agreement allows {max(limits)} accesses; all are used"
            else:
                reason = "; ".join(decision.reasons)
            return AccessVerdict(False, code, reason)
        index = _granted(decision)
        limit = terms.limits[index] if index is not None and index < len(terms.limits) else None
        return AccessVerdict(True, count_limit=limit)

    def decide(self, snapshot: TransferSnapshot, now: datetime) -> tuple[Decision, AgreedTerms]:
        terms = self.terms(snapshot.agreement_id, snapshot.policy or {})
        if terms.policy is None:
            return Decision(False), terms
        requester = self.requester(snapshot)
        request = DecisionRequest(
            phase="access",
            requester=requester.claims,
            now=now,
            purpose=requester.purpose or terms.purpose,
            uses=snapshot.accesses,
            agreed_at=snapshot.agreed_at,
            last_use=snapshot.last_access_at,
            payment=terms.payment,
        )
        # Quick: an allowed access needs no explanation; a refusal comes back in full.
        return self.pdp.decide(terms.policy, request, explain=False), terms

    def terms(self, agreement_id: str, policy: dict[str, Any]) -> AgreedTerms:
        terms = self._terms.get(agreement_id)
        if terms is None:
            terms = self._terms[agreement_id] = agreed_terms(policy)
        return terms

    def know(self, snapshots: Sequence[TransferSnapshot]) -> None:
        """Read the requesters of those of `snapshots` not known yet in one statement (the
        policy monitor's page, in a worker thread), so their checks read nothing: a round
        after a restart otherwise read one context per transfer, on the event loop."""
        unknown = [
            s.transfer_id
            for s in snapshots
            if s.role == Role.PROVIDER and s.transfer_id not in self._requesters
        ]
        if not unknown:
            return
        found = contexts(self.store, unknown)
        by_id = {s.transfer_id: s for s in snapshots}
        with self._lock:
            for tid, row in found.items():
                claims = {**row.requester, "did": by_id[tid].counterparty_did}
                self._requesters[tid] = Requester(claims, row.purpose)

    def requester(self, snapshot: TransferSnapshot) -> Requester:
        found = self._requesters.get(snapshot.transfer_id)
        if found is not None:
            return found
        row = context(self.store, snapshot.transfer_id)
        if row is None:  # started before policy contexts were kept: the DID is all we know
            found = Requester({"did": snapshot.counterparty_did}, None)
        else:
            found = Requester({**row.requester, "did": snapshot.counterparty_did}, row.purpose)
            with self._lock:
                self._requesters[snapshot.transfer_id] = found
        return found


def _granted(decision: Decision) -> int | None:
    """The index of the permission that granted the decision."""
    for reason in decision.details:
        if reason.code == "permission_satisfied":
            try:
                return int(reason.path.rsplit("/", 1)[-1])
            except ValueError:
                return None
    return None
