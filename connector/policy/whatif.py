"""Operator tools shared by the CLI (`tsunagu policy ...`) and the management API: check a
policy and list its terms, decide "what would happen if" this participant asked for this
purpose at this time, and make a policy from a template with parameters given as text."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from policies import templates
from policies.decision import Decision, DecisionRequest, Payment, PolicyDecisionPoint
from policies.errors import InvalidValue, PolicyError
from policies.explain import explain
from policies.model import Policy
from policies.profile import check_policy, terms_used
from policies.terms import expand
from policies.values import parse_datetime

TEMPLATES: Mapping[str, Callable[..., Policy]] = {
    "disaster-response": templates.disaster_response,
    "commercial-contract": templates.commercial_contract,
    "open-data": templates.open_data,
    "personal-data": templates.personal_data_under_consent,
}


def check_report(data: Mapping[str, Any]) -> dict[str, Any]:
    """A valid policy's terms (PolicyError, naming the place, for one outside the profile)."""
    policy = check_policy(data)
    return {
        "valid": True,
        "kind": policy.kind,
        "uid": policy.uid,
        "permissions": len(policy.permissions),
        "prohibitions": [r.action for r in policy.prohibitions],
        "obligations": [r.action for r in policy.obligations],
        "terms": {k: list(v) for k, v in terms_used(policy).items()},
    }


@dataclass(frozen=True)
class WhatIf:
    """Who asks, for what, when; claims as the authority's credential would state them."""

    did: str
    purpose: str | None = None
    at: datetime | None = None
    role: str | None = None
    municipality_code: str | None = None
    memberships: tuple[str, ...] = ()
    phase: str = "negotiation"
    uses: int | None = None
    agreed_at: datetime | None = None
    payment: tuple[Decimal, str] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def what_if(pdp: PolicyDecisionPoint, policy: Policy, question: WhatIf, now: datetime) -> Decision:
    requester: dict[str, Any] = {"did": question.did, **question.extra}
    if question.role is not None:
        requester["role"] = question.role
    if question.municipality_code is not None:
        requester["municipality_code"] = question.municipality_code
    if question.memberships:
        requester["memberships"] = list(question.memberships)
    at = question.at or now
    if at.utcoffset() is None:
        raise InvalidValue("the instant needs a time zone", path="/at")
    phase = question.phase
    if phase not in ("catalog", "negotiation", "transfer", "access"):
        raise InvalidValue(
            f"phase {phase!r}: catalog, negotiation, transfer or access", path="/phase"
        )
    return pdp.decide(
        policy,
        DecisionRequest(
            phase=phase,  # type: ignore[arg-type]
            requester=requester,
            now=at,
            purpose=expand(question.purpose) if question.purpose else None,
            uses=question.uses,
            agreed_at=question.agreed_at,
            payment=Payment(*question.payment) if question.payment else None,
        ),
    )


def decision_json(decision: Decision, language: str = "en") -> dict[str, Any]:
    return {
        "allowed": decision.allowed,
        "code": decision.code,
        "codes": list(decision.codes()),
        "reasons": list(decision.reasons),
        "explanation": explain(decision, language),
        "duties": [d.action for d in decision.duties],
        "restrictions": [r.action for r in decision.restrictions],
    }


def from_template(name: str, params: Mapping[str, str]) -> Policy:
    """A template's policy, its parameters given as text (`--param basin=...`): dates as
    xsd:dateTime with a time zone, numbers as digits, lists comma-separated."""
    make = TEMPLATES.get(name)
    if make is None:
        raise PolicyError(
            f"no template {name!r}; there are {', '.join(TEMPLATES)}", code="unknown_template"
        )
    signature = inspect.signature(make)
    args: dict[str, Any] = {}
    for key, text in params.items():
        parameter = signature.parameters.get(key.replace("-", "_"))
        if parameter is None or parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            names = ", ".join(p for p in signature.parameters)
            raise PolicyError(
                f"template {name!r} takes no parameter {key!r} (it takes {names})",
                code="unknown_parameter",
            )
        args[parameter.name] = _value(str(parameter.annotation), text, f"/{key}")
    args.setdefault("uid", f"urn:tsunagu:offer:{name}:{uuid.uuid4()}")
    missing = [
        p.name
        for p in signature.parameters.values()
        if p.default is inspect.Parameter.empty and p.name not in args
    ]
    if missing:
        raise PolicyError(f"template {name!r} needs {', '.join(missing)}", code="missing_parameter")
    return check_policy(make(**args))


def _value(annotation: str, text: str, path: str) -> Any:
    if "datetime" in annotation:
        try:
            return parse_datetime(text)
        except InvalidValue as exc:
            raise InvalidValue(exc.detail, path=path) from None
    if "Sequence" in annotation:
        return [part.strip() for part in text.split(",") if part.strip()]
    if annotation.startswith("int"):
        try:
            return int(text)
        except ValueError:
            raise InvalidValue(f"{text!r} is not a whole number", path=path) from None
    return text


def template_names() -> Sequence[str]:
    return tuple(TEMPLATES)
