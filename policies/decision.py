"""The policy decision point: may this requester do this with a dataset under this policy, now?

A "deny" is a value (`Decision(allowed=False, details=...)`), never an exception: the caller
turns it into a termination or an error with the reasons attached (`decision.reasons` in
English, `policies.explain` in Japanese or English).

ODRL 2.2 semantics, as this decision point applies them:

- A permission covers the requested action when its action is that action or includes it
  (`read`, `distribute`, `aggregate`, `anonymize` are included in `use`; see
  `policies.profile.ACTIONS`). It is satisfied when all its constraints hold.
- A prohibition covers the requested action the same way and applies when its constraints
  hold. A prohibition of a narrower action than the one asked about (no `distribute` while
  agreeing on `use`) does not deny: it is a restriction, returned with the decision so it
  can be stored with the agreement and shown to the consumer.
- A satisfied permission and an applying prohibition are a conflict, resolved by the
  policy's `conflict`: `perm` (the permission wins), `prohibit` (the prohibition wins) or
  `invalid` (ODRL's default: the policy is void, so nothing is permitted).
- Duties of the satisfying permission and the policy's obligations are returned as owed; the
  decision point does not track their fulfilment.
- Logical constraints: `and`, `or`, `xone` (exactly one holds) and `andSequence` (all hold,
  read in order; nothing here has side effects, so it decides like `and`).

Anything the decision point cannot evaluate (an operand the profile does not define, a value
of the wrong form, an event with no alert state to read) makes the constraint *undecidable*,
and undecidable never means yes: an undecidable permission grants nothing and an undecidable
prohibition denies (unless a satisfied permission overrides it under `perm`).

Quick decisions (`decide(..., explain=False)`, the data plane's every access) evaluate the same
checks but keep only their outcomes: no reasons are assembled beneath a rule, no duty is shown
as text. An allowed quick decision carries its granting permission's reason (without what is
beneath it), the duties and the restrictions; a refusal is decided again in full, so what a
refused requester is told never depends on the path taken.

`count` and `timeInterval` are enforced by the data plane at each access (`uses` and
`last_use` in the request); while an agreement is being made (`uses` is None) a `count`
holds when it allows at least one access.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from policies.alerts import AlertState
from policies.errors import PolicyError
from policies.explain import render
from policies.geography import Geography
from policies.model import Constraint, ConstraintLike, LogicalConstraint, Policy, Rule
from policies.operands import Check, Environment, Payment, compile_constraint, show
from policies.profile import covers
from policies.purposes import PurposeTree
from policies.reasons import Reason, Verdict
from policies.terms import LogicalOperator

__all__ = [
    "BasicDecisionPoint",
    "Decision",
    "DecisionPoint",
    "DecisionRequest",
    "Payment",
    "PolicyDecisionPoint",
]

Phase = Literal["catalog", "negotiation", "transfer", "access"]
Test = Callable[["DecisionRequest"], bool | None]


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    details: tuple[Reason, ...] = ()
    duties: tuple[Rule, ...] = ()
    """Duties of the satisfying permission and the policy's obligations: what is owed."""
    restrictions: tuple[Rule, ...] = ()
    """Prohibitions of actions narrower than the one decided on (e.g. no onward transfer)."""

    @property
    def code(self) -> str:
        return self.details[0].code if self.details else ("permitted" if self.allowed else "denied")

    @property
    def reasons(self) -> tuple[str, ...]:
        """The reasons in English, one line each."""
        return tuple(render(r, "en") for r in self.details)

    def codes(self) -> tuple[str, ...]:
        return tuple(code for r in self.details for code in r.codes())


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    """What the decision is about. `requester` holds the requester's *verified* claims:
    "did", "legal_name", "role", "municipality_code", "memberships"."""

    phase: Phase
    requester: Mapping[str, Any]
    now: datetime
    purpose: str | None = None
    action: str = "use"
    uses: int | None = None
    """Accesses made under the agreement so far, where they are counted."""
    agreed_at: datetime | None = None
    """When the agreement was made (for `elapsedTime`)."""
    last_use: datetime | None = None
    """The previous access under the agreement (for `timeInterval`)."""
    payment: Payment | None = None


class PolicyDecisionPoint(Protocol):
    def decide(
        self, policy: Policy, request: DecisionRequest, *, explain: bool = True
    ) -> Decision: ...


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    index: int
    rule: Rule
    check: Check
    test: Test
    """The same check, its outcome only (quick decisions)."""


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    policy: Policy
    permissions: tuple[_CompiledRule, ...]
    prohibitions: tuple[_CompiledRule, ...]


class DecisionPoint:
    """The decision point of tsunagu's policy profile. Policies are compiled once (values
    parsed, operands resolved) and kept in a small cache keyed by the policy value."""

    def __init__(
        self,
        *,
        geography: Geography | None = None,
        alerts: AlertState | None = None,
        purposes: PurposeTree | None = None,
        cache_size: int = 1024,
    ) -> None:
        self.environment = Environment(geography=geography, alerts=alerts, purposes=purposes)
        self._cache: dict[Policy, CompiledPolicy] = {}
        # Hashing a policy walks all of it; the same object asked about again (the data
        # plane's case) is found by identity first.
        self._by_id: dict[int, CompiledPolicy] = {}
        self._cache_size = cache_size

    def reconfigure(
        self, *, geography: Geography | None = None, alerts: AlertState | None = None
    ) -> None:
        """Know other basins or read another alert state from now on; compiled policies are
        dropped (they resolved basins and stations when compiled)."""
        self.environment = Environment(
            geography=geography or self.environment.geography,
            alerts=alerts or self.environment.alerts,
            purposes=self.environment.purposes,
        )
        self._cache.clear()
        self._by_id.clear()

    def compile(self, policy: Policy) -> CompiledPolicy:
        compiled = self._by_id.get(id(policy))
        if compiled is not None and compiled.policy is policy:
            return compiled
        compiled = self._cache.get(policy)
        if compiled is None:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
                self._by_id.clear()
            compiled = self._cache[policy] = compile_policy(policy, self.environment)
        if len(self._by_id) >= self._cache_size:
            self._by_id.clear()
        self._by_id[id(policy)] = compiled
        return compiled

    def decide(self, policy: Policy, request: DecisionRequest, *, explain: bool = True) -> Decision:
        """`explain=False`: a quick decision (see the module's notes); same answer."""
        return decide(self.compile(policy), request, explain=explain)


class BasicDecisionPoint(DecisionPoint):
    """The default decision point: no geography and no alert state, so `spatial` with a
    basin and `event` are undecidable (and refused) until the connector provides them."""


def compile_policy(policy: Policy, env: Environment) -> CompiledPolicy:
    def rule(i: int, r: Rule, kind: str, counted: bool) -> _CompiledRule:
        path = f"/{kind}/{i}"
        return _CompiledRule(
            i,
            r,
            _rule_check(r, env, path, counted=counted),
            _rule_test(r, env, path, counted=counted),
        )

    return CompiledPolicy(
        policy,
        tuple(rule(i, r, "permission", True) for i, r in enumerate(policy.permissions)),
        tuple(rule(i, r, "prohibition", False) for i, r in enumerate(policy.prohibitions)),
    )


def decide(compiled: CompiledPolicy, request: DecisionRequest, *, explain: bool = True) -> Decision:
    if not explain:
        quick = _quick(compiled, request)
        if quick is not None:
            return quick
    policy, action = compiled.policy, request.action
    satisfied: tuple[_CompiledRule, Verdict] | None = None
    failures: list[Reason] = []
    for entry in compiled.permissions:
        if not covers(entry.rule.action, action):
            continue
        verdict = entry.check(request)
        if verdict.holds:
            satisfied = (entry, verdict)
            break
        code = "permission_undecidable" if verdict.holds is None else "permission_not_satisfied"
        failures.append(_rule_reason(code, "permission", entry, verdict))
    applying: list[Reason] = []
    restrictions: list[Rule] = []
    for entry in compiled.prohibitions:
        if not covers(entry.rule.action, action):
            if covers(action, entry.rule.action):
                restrictions.append(entry.rule)
            continue
        verdict = entry.check(request)
        if verdict.holds is None:
            applying.append(_rule_reason("prohibition_undecidable", "prohibition", entry, verdict))
        elif verdict.holds:
            applying.append(_rule_reason("prohibition_applies", "prohibition", entry, verdict))
    strategy = policy.conflict or "invalid"
    if satisfied is None:
        return Decision(False, (*applying, *failures) or (_no_permission(action),))
    entry, verdict = satisfied
    granted = _rule_reason("permission_satisfied", "permission", entry, verdict)
    if applying and strategy != "perm":
        void = strategy == "invalid" and any(r.code == "prohibition_applies" for r in applying)
        head = (Reason("policy_void_conflict", "/conflict", (("strategy", strategy),)),)
        return Decision(False, (*(head if void else ()), *applying))
    duties = (*entry.rule.duties, *policy.obligations)
    notes = tuple(
        Reason(
            "duty_owed" if i < len(entry.rule.duties) else "obligation_owed",
            _duty_path(entry.index, i, len(entry.rule.duties)),
            (("action", d.action), ("terms", "; ".join(show_rule_constraints(d)))),
        )
        for i, d in enumerate(duties)
    )
    overridden = tuple(
        Reason("prohibition_overridden", r.path, r.args, r.because) for r in applying
    )
    shown = tuple(Reason("action_prohibited", "", (("action", r.action),)) for r in restrictions)
    return Decision(True, (granted, *overridden, *notes, *shown), duties, tuple(restrictions))


def _quick(compiled: CompiledPolicy, request: DecisionRequest) -> Decision | None:
    """The allowed decision without its explanation, or None when the request is refused
    (decided again in full then). Mirrors `decide` step by step."""
    action = request.action
    granted: _CompiledRule | None = None
    for entry in compiled.permissions:
        if covers(entry.rule.action, action) and entry.test(request):
            granted = entry
            break
    if granted is None:
        return None
    restrictions: list[Rule] = []
    applies = False
    for entry in compiled.prohibitions:
        if not covers(entry.rule.action, action):
            if covers(action, entry.rule.action):
                restrictions.append(entry.rule)
            continue
        if entry.test(request) is not False:  # applying, or undecidable: both count
            applies = True
    if applies and (compiled.policy.conflict or "invalid") != "perm":
        return None
    head = Reason(
        "permission_satisfied",
        f"/permission/{granted.index}",
        (("index", str(granted.index + 1)), ("action", granted.rule.action)),
    )
    duties = (*granted.rule.duties, *compiled.policy.obligations)
    return Decision(True, (head,), duties, tuple(restrictions))


def _duty_path(permission: int, i: int, own: int) -> str:
    if i < own:
        return f"/permission/{permission}/duty/{i}"
    return f"/obligation/{i - own}"


def show_rule_constraints(rule: Rule) -> list[str]:
    return [_show_like(c) for c in rule.constraints]


def _show_like(c: ConstraintLike) -> str:
    if isinstance(c, LogicalConstraint):
        return f"{c.operator.value}(" + ", ".join(_show_like(x) for x in c.constraints) + ")"
    return show(c)


def _no_permission(action: str) -> Reason:
    return Reason("no_permission", "", (("action", action),))


def _rule_reason(code: str, kind: str, entry: _CompiledRule, verdict: Verdict) -> Reason:
    return Reason(
        code,
        f"/{kind}/{entry.index}",
        (("index", str(entry.index + 1)), ("action", entry.rule.action)),
        (verdict.reason,),
    )


# -- compiling rules and logical constraints ---------------------------------------------------

_TRUE = Verdict(True, Reason("no_constraints"))


def _rule_check(rule: Rule, env: Environment, path: str, *, counted: bool) -> Check:
    if not rule.constraints:
        return lambda request: _TRUE
    parts = [
        _constraint_check(c, env, f"{path}/constraint/{i}", counted)
        for i, c in enumerate(rule.constraints)
    ]
    if len(parts) == 1:
        return parts[0]
    return _logical(LogicalOperator.AND, parts, f"{path}/constraint")


def _constraint_check(c: ConstraintLike, env: Environment, path: str, counted: bool) -> Check:
    if isinstance(c, LogicalConstraint):
        inner = counted and c.operator in (LogicalOperator.AND, LogicalOperator.AND_SEQUENCE)
        parts = [
            _constraint_check(x, env, f"{path}/{c.operator.value}/{i}", inner)
            for i, x in enumerate(c.constraints)
        ]
        return _logical(c.operator, parts, path)
    return _atomic(c, env, path, counted)


def _atomic(c: Constraint, env: Environment, path: str, counted: bool) -> Check:
    try:
        return compile_constraint(c, env, path, counted=counted)
    except PolicyError as exc:
        verdict = Verdict(
            None,
            Reason(exc.code, exc.path or path, (("constraint", show(c)), ("detail", exc.detail))),
        )
        return lambda request: verdict


def _logical(operator: LogicalOperator, parts: list[Check], path: str) -> Check:
    name = operator.value

    def check(request: DecisionRequest) -> Verdict:
        verdicts = [p(request) for p in parts]
        true = undecided = 0
        for v in verdicts:  # one pass: this runs on every access
            if v.holds is None:
                undecided += 1
            elif v.holds:
                true += 1
        if undecided:
            return Verdict(
                None,
                Reason(
                    "logical",
                    path,
                    (("operator", name), ("outcome", "undecidable")),
                    tuple(v.reason for v in verdicts if v.holds is None),
                ),
            )
        if operator is LogicalOperator.OR:
            holds = true >= 1
        elif operator is LogicalOperator.XONE:
            holds = true == 1
        else:
            holds = true == len(verdicts)
        if operator is LogicalOperator.XONE or true == (len(verdicts) if holds else 0):
            shown = tuple(v.reason for v in verdicts)  # all of them, or all agree
        else:
            shown = tuple(v.reason for v in verdicts if v.holds == holds)
        outcome = "holds" if holds else "fails"
        return Verdict(
            holds, Reason("logical", path, (("operator", name), ("outcome", outcome)), shown)
        )

    return check


# -- the same, outcomes only (quick decisions) -------------------------------------------------


def _rule_test(rule: Rule, env: Environment, path: str, *, counted: bool) -> Test:
    if not rule.constraints:
        return lambda request: True
    parts = [
        _constraint_test(c, env, f"{path}/constraint/{i}", counted)
        for i, c in enumerate(rule.constraints)
    ]
    if len(parts) == 1:
        return parts[0]
    return _logical_test(LogicalOperator.AND, parts)


def _constraint_test(c: ConstraintLike, env: Environment, path: str, counted: bool) -> Test:
    if isinstance(c, LogicalConstraint):
        inner = counted and c.operator in (LogicalOperator.AND, LogicalOperator.AND_SEQUENCE)
        parts = [
            _constraint_test(x, env, f"{path}/{c.operator.value}/{i}", inner)
            for i, x in enumerate(c.constraints)
        ]
        return _logical_test(c.operator, parts)
    check = _atomic(c, env, path, counted)
    return lambda request: check(request).holds


def _logical_test(operator: LogicalOperator, parts: list[Test]) -> Test:
    # Every part is evaluated, as in `_logical`: one undecidable part makes the whole
    # undecidable whatever the others say, so stopping at the first true or false would differ.
    def test(request: DecisionRequest) -> bool | None:
        true = 0
        undecided = False
        for part in parts:
            holds = part(request)
            if holds is None:
                undecided = True
            elif holds:
                true += 1
        if undecided:
            return None
        if operator is LogicalOperator.OR:
            return true >= 1
        if operator is LogicalOperator.XONE:
            return true == 1
        return true == len(parts)

    return test
