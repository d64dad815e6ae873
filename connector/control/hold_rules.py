"""Who takes each contract and transfer step: the participant's rules (`tsunagu.toml`), the
rules a consumer gives with one request, and the steps a provider sets on one offer.

`auto` takes a step at once, `hold` waits for the operator; a provider's transfers may also
start at the agreement's `window` (its dateTime lower bound). A consumer accepts a provider's
offer by itself only when it has the terms it asked for or one of its `AcceptRule`s allows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from connector.errors import ConfigError, MessageError

Step = Literal["auto", "hold"]
StartStep = Literal["auto", "hold", "window"]
NarrowerStep = Literal["auto", "hold", "refuse"]
STEP_CHOICES: Mapping[str, tuple[str, ...]] = {
    "agree": ("auto", "hold"),  # provider: answer a consumer's request
    "after_accept": ("auto", "hold"),  # provider: agree after the consumer's ACCEPTED
    "finalize": ("auto", "hold"),  # provider: finalize after the consumer's verification
    "transfer_start": ("auto", "hold", "window"),  # provider: start a requested transfer
    "verify": ("auto", "hold"),  # consumer: verify an agreement that matches
    # provider: agree to a request narrower than the offer (docs/holds.md), hold it for the
    # operator, or refuse it with the reason
    "narrower": ("auto", "hold", "refuse"),
    # provider: resume a transfer the policy monitor suspended once its agreement holds again
    # (auto), or leave that to the operator (hold)
    "resume": ("auto", "hold"),
}


@dataclass(frozen=True)
class Steps:
    agree: Step = "auto"
    after_accept: Step = "auto"
    finalize: Step = "auto"
    transfer_start: StartStep = "auto"
    verify: Step = "auto"
    narrower: NarrowerStep = "auto"
    resume: Step = "auto"

    def over(self, changes: Mapping[str, Any]) -> Steps:
        """These steps with `changes` (already checked) taking precedence."""
        return replace(self, **{k: v for k, v in changes.items() if k in STEP_CHOICES})

    def non_default(self) -> dict[str, str]:
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != "auto"
        }


def parse_steps(data: Mapping[str, Any], *, where: str, operator: bool = False) -> dict[str, str]:
    """Checked step settings (a subset of `STEP_CHOICES`): a ConfigError for `tsunagu.toml`,
    a MessageError (`operator`) for a management request."""

    def bad(message: str) -> Exception:
        if operator:
            return MessageError(f"{where}: {message}", code="invalid_steps")
        return ConfigError(f"{where}: {message}")

    if not isinstance(data, Mapping):
        raise bad("steps are a table of step = choice")
    out: dict[str, str] = {}
    for key, value in data.items():
        if key not in STEP_CHOICES:
            raise bad(f"unknown step {key!r}; use one of {', '.join(STEP_CHOICES)}")
        if value not in STEP_CHOICES[key]:
            raise bad(f"{key} must be one of {', '.join(STEP_CHOICES[key])}, not {value!r}")
        out[key] = str(value)
    return out


OFFER_STEPS = ("after_accept", "finalize", "transfer_start", "narrower", "resume")
"""What one offer may set (agreeing to a request is the offer's `requires_approval`)."""


def parse_offer_steps(data: Mapping[str, Any] | None) -> dict[str, str]:
    steps = parse_steps(data or {}, where="steps", operator=True)
    wrong = sorted(set(steps) - set(OFFER_STEPS))
    if wrong:
        raise MessageError(
            f"steps: {wrong[0]} is not an offer's step; use {', '.join(OFFER_STEPS)}"
            " (and requires_approval to hold requests)",
            code="invalid_steps",
        )
    return steps


@dataclass(frozen=True)
class AcceptRule:
    """Consumer: accept a provider's offer that differs from what we asked (or that the provider
    opened with) when every condition given here holds. An empty rule accepts any offer."""

    peers: tuple[str, ...] = ()  # the provider is one of these DIDs
    member_of: tuple[str, ...] = ()  # the provider's credential lists all these memberships
    datasets: tuple[str, ...] = ()  # the offer is for one of these datasets
    purposes: tuple[str, ...] = ()  # the offer permits use for each of these purposes
    no_payment: bool = False  # the offer carries no payment duty (compensate, payAmount)
    duties: tuple[str, ...] | None = None  # the only duty actions allowed (None: any)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("peers", "member_of", "datasets", "purposes"):
            if getattr(self, name):
                out[name] = list(getattr(self, name))
        if self.no_payment:
            out["no_payment"] = True
        if self.duties is not None:
            out["duties"] = list(self.duties)
        return out


_RULE_KEYS = ("peers", "member_of", "datasets", "purposes", "no_payment", "duties")


def parse_accept_rule(data: Any, *, where: str, operator: bool = False) -> AcceptRule:
    """One rule from TOML (`operator=False`: a ConfigError) or a request body (a MessageError)."""

    def bad(message: str) -> Exception:
        if operator:
            return MessageError(f"{where}: {message}", code="invalid_accept_rule")
        return ConfigError(f"{where}: {message}")

    if not isinstance(data, Mapping):
        raise bad("an acceptance rule is a table of conditions")
    unknown = sorted(set(data) - set(_RULE_KEYS))
    if unknown:
        raise bad(f"unknown condition {unknown[0]!r}; use {', '.join(_RULE_KEYS)}")

    def texts(name: str) -> tuple[str, ...]:
        value = data.get(name, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise bad(f"{name} must be a list of strings")
        return tuple(value)

    no_payment = data.get("no_payment", False)
    if not isinstance(no_payment, bool):
        raise bad("no_payment must be true or false")
    return AcceptRule(
        peers=texts("peers"),
        member_of=texts("member_of"),
        datasets=texts("datasets"),
        purposes=texts("purposes"),
        no_payment=no_payment,
        duties=texts("duties") if "duties" in data else None,
    )


@dataclass(frozen=True)
class HoldSettings:
    """The participant's own rules: its default steps, acceptance rules, and the webhook told
    of every step that starts to wait."""

    steps: Steps = field(default_factory=Steps)
    accept: tuple[AcceptRule, ...] = ()
    webhook: str | None = None

    def to_toml(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        steps = self.steps.non_default()
        provider = {k: v for k, v in steps.items() if k != "verify"}
        if provider:
            out["provider"] = provider
        consumer: dict[str, Any] = {}
        if "verify" in steps:
            consumer["verify"] = steps["verify"]
        if self.accept:
            consumer["accept"] = [r.to_json() for r in self.accept]
        if consumer:
            out["consumer"] = consumer
        if self.webhook:
            out["holds"] = {"webhook": self.webhook}
        return out


def load_hold_settings(data: Mapping[str, Any], *, where: str) -> HoldSettings:
    """From the parsed `tsunagu.toml`: `[provider]`, `[consumer]` (with `[[consumer.accept]]`)
    and `[holds]`."""
    provider = dict(data.get("provider", {}))
    consumer = dict(data.get("consumer", {}))
    rules = consumer.pop("accept", [])
    if not isinstance(rules, list):
        raise ConfigError(f"{where}: [[consumer.accept]] must be an array of tables")
    steps = parse_steps(provider, where=f"{where} [provider]")
    if "verify" in steps:
        raise ConfigError(f"{where} [provider]: verify is a consumer step; put it in [consumer]")
    consumer_steps = parse_steps(consumer, where=f"{where} [consumer]")
    if set(consumer_steps) - {"verify"}:
        raise ConfigError(f"{where} [consumer]: only verify and accept belong here")
    webhook = data.get("holds", {}).get("webhook")
    if webhook is not None and (not isinstance(webhook, str) or not webhook):
        raise ConfigError(f"{where} [holds]: webhook must be a URL")
    return HoldSettings(
        steps=Steps().over({**steps, **consumer_steps}),
        accept=tuple(
            parse_accept_rule(r, where=f"{where} [[consumer.accept]] #{i + 1}")
            for i, r in enumerate(rules)
        ),
        webhook=webhook,
    )


def accept_rules_of(data: Iterable[Any], *, where: str) -> tuple[AcceptRule, ...]:
    """Rules given with one request (a MessageError names the bad one)."""
    return tuple(
        parse_accept_rule(r, where=f"{where}[{i}]", operator=True) for i, r in enumerate(data)
    )
