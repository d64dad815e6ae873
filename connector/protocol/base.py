"""What every DSP 2025-1 message shares: the `@context`/`@type` envelope, parsing, errors.

Messages are frozen dataclasses written by hand rather than generated from the schemas: the
wire form must be *exactly* the compact JSON of the spec's examples, and every rejection must
carry a short code and a message naming the offending field. Parsing is tolerant where DSP
says so (unknown extra properties are ignored) and strict elsewhere.

Error codes raised as `MessageError(..., code=...)`:

    invalid_message   the body is not a JSON object, or a one-of rule is broken
    invalid_context   `@context` is not an array of strings containing the DSP 2025-1 context
    wrong_type        `@type` is not the message type expected at this endpoint
    missing_field     a required property is absent
    invalid_field     a property has the wrong JSON type or an unknown enumerated value
    invalid_callback  `callbackAddress` is not an absolute http(s) URL
    invalid_policy    the offer or agreement is not a usable ODRL policy
    invalid_characters  an identifier or address holds a control character (see identifiers)
    identifier_too_long an identifier or address is over its length limit
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import urlsplit

from connector.errors import MessageError
from connector.protocol.identifiers import MAX_ADDRESS, MAX_IDENTIFIER, MAX_NAME, check_identifier
from policies.errors import PolicyError
from policies.odrl import Policy, PolicyKind, parse_policy

DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Prop:
    """One property of a message on the wire: its JSON name, how it is read from a body and
    written back. The dataclass field it fills is the snake_case form of the name."""

    name: str
    read: Callable[[Fields, str], Any]
    write: Callable[[Any], Any] = _same
    coerce: Callable[[Any, str], Any] | None = None
    """Applied on construction too (e.g. an enum given as its string), with the message type."""
    shape: Mapping[str, Any] = field(default_factory=dict, compare=False)
    """The value's JSON Schema, as far as a reader of the OpenAPI document needs it."""

    @property
    def attr(self) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.name).lower()


def _limit(name: str) -> int:
    if name.endswith("Address"):
        return MAX_ADDRESS
    return MAX_NAME if name == "dataset" else MAX_IDENTIFIER


def text(name: str) -> Prop:
    """A short string a store keeps and indexes: a pid, an id, a code, an address."""
    return Prop(
        name,
        lambda fields, n: fields.identifier(n, limit=_limit(n)),
        shape={"type": "string", "maxLength": _limit(name)},
    )


def optional_text(name: str) -> Prop:
    return Prop(
        name,
        lambda fields, n: fields.optional_identifier(n, limit=_limit(n)),
        shape={"type": "string", "maxLength": _limit(name)},
    )


def policy(name: str, kind: PolicyKind) -> Prop:
    return Prop(
        name,
        lambda fields, n: fields.policy(n, kind),
        lambda p: p.to_json(),
        shape={"type": "object", "description": f"an ODRL {kind}"},
    )


def enum(name: str, kind: type[E]) -> Prop:
    return Prop(
        name,
        lambda fields, n: fields.enum(n, kind),
        lambda member: member.value,
        lambda value, where: coerce_enum(value, kind, where, name),
        shape={"type": "string", "enum": [member.value for member in kind]},
    )


def reason_list(name: str = "reason") -> Prop:
    """A `reason` array: >= 1 item when present, so an empty one is absent."""
    return Prop(
        name,
        lambda fields, n: fields.array(n),
        list,
        lambda value, _: reasons(value),
        shape={"type": "array", "minItems": 1},
    )


PIDS = (text("providerPid"), text("consumerPid"))


class Message:
    """Base of every DSP message model. Subclasses are frozen, keyword-only dataclasses that
    list their wire properties in `WIRE`, in the order they are written; reading, writing and
    coercion follow from that list."""

    TYPE: ClassVar[str]
    WIRE: ClassVar[tuple[Prop, ...]] = ()

    def __post_init__(self) -> None:
        for prop in self.WIRE:
            if prop.coerce is not None:
                value = getattr(self, prop.attr)
                object.__setattr__(self, prop.attr, prop.coerce(value, self.TYPE))

    def to_json(self) -> dict[str, Any]:
        """The DSP 2025-1 compact JSON; absent optional properties are omitted, never null."""
        return {"@context": [DSP_CONTEXT], "@type": self.TYPE, **self._properties()}

    def _properties(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for prop in self.WIRE:
            value = getattr(self, prop.attr)
            if value is not None:
                out[prop.name] = prop.write(value)
        return out

    @classmethod
    def _read(cls, fields: Fields) -> Self:
        return cls(**{prop.attr: prop.read(fields, prop.name) for prop in cls.WIRE})


def message_schema(model: type[Message]) -> dict[str, Any]:
    """A JSON Schema of `model` as this connector reads it: the envelope, each wire property
    with its shape, and the properties without which the message is refused (one-of rules,
    such as an initial request's callbackAddress, are told in prose by the endpoint)."""
    every = fields(model)  # type: ignore[arg-type]  # each subclass is a dataclass
    required = {f.name for f in every if f.default is MISSING and f.default_factory is MISSING}
    return {
        "title": model.TYPE,
        "type": "object",
        "required": ["@context", "@type", *(p.name for p in model.WIRE if p.attr in required)],
        "properties": {
            "@context": {
                "type": "array",
                "items": {"type": "string"},
                "contains": {"const": DSP_CONTEXT},
            },
            "@type": {"const": model.TYPE},
            **{p.name: dict(p.shape) for p in model.WIRE},
        },
        "additionalProperties": True,  # DSP: unknown properties are ignored
    }


M = TypeVar("M", bound=Message)
E = TypeVar("E", bound=StrEnum)


def parse_message(body: object, model: type[M]) -> M:
    """Validate a decoded JSON body as a `model` message; `MessageError` if it is not one."""
    if not isinstance(body, Mapping):
        raise MessageError(
            f"a {model.TYPE} must be a JSON object, got {json_type(body)}", code="invalid_message"
        )
    check_context(body, model.TYPE)
    if "@type" not in body:
        raise MessageError(f"{model.TYPE}: '@type' is required", code="missing_field")
    if body["@type"] != model.TYPE:
        raise MessageError(
            f"expected a {model.TYPE}, got @type {body['@type']!r}", code="wrong_type"
        )
    return model._read(Fields(body, model.TYPE))


def check_context(body: Mapping[str, Any], type_name: str) -> None:
    if "@context" not in body:
        raise MessageError(f"{type_name}: '@context' is required", code="missing_field")
    context = body["@context"]
    if (
        not isinstance(context, list)
        or not all(isinstance(c, str) for c in context)
        or DSP_CONTEXT not in context
    ):
        raise MessageError(
            f"{type_name}: '@context' must be an array of strings containing {DSP_CONTEXT!r}, "
            f"got {context!r}",
            code="invalid_context",
        )


class Fields:
    """Typed access to a message's properties, raising `MessageError`s that name the field."""

    def __init__(self, body: Mapping[str, Any], where: str) -> None:
        self.body = body
        self.where = where

    def _get(self, name: str) -> Any:
        return self.body.get(name)

    def _wrong(self, name: str, expected: str, value: object) -> MessageError:
        return MessageError(
            f"{self.where}: {name!r} must be {expected}, got {json_type(value)}",
            code="invalid_field",
        )

    def string(self, name: str) -> str:
        value = self.optional_string(name)
        if value is None:
            raise MessageError(f"{self.where}: {name!r} is required", code="missing_field")
        return value

    def optional_string(self, name: str) -> str | None:
        value = self._get(name)
        if value is None or isinstance(value, str):
            return value
        raise self._wrong(name, "a string", value)

    def identifier(self, name: str, *, limit: int = MAX_IDENTIFIER) -> str:
        return check_identifier(self.string(name), f"{self.where}: {name!r}", limit=limit)

    def optional_identifier(self, name: str, *, limit: int = MAX_IDENTIFIER) -> str | None:
        value = self.optional_string(name)
        if value is None:
            return None
        return check_identifier(value, f"{self.where}: {name!r}", limit=limit)

    def object(self, name: str) -> Mapping[str, Any]:
        value = self.optional_object(name)
        if value is None:
            raise MessageError(f"{self.where}: {name!r} is required", code="missing_field")
        return value

    def optional_object(self, name: str) -> Mapping[str, Any] | None:
        value = self._get(name)
        if value is None or isinstance(value, Mapping):
            return value
        raise self._wrong(name, "an object", value)

    def array(self, name: str) -> tuple[Any, ...]:
        """An array property; a single value counts as a one-item array (JSON-LD sets)."""
        value = self._get(name)
        if value is None:
            return ()
        return tuple(value) if isinstance(value, list) else (value,)

    def enum(self, name: str, kind: type[E]) -> E:
        return coerce_enum(self.string(name), kind, self.where, name)

    def policy(self, name: str, kind: PolicyKind) -> Policy:
        data = self.object(name)
        try:
            parsed = _parsed_policy(data, kind)
        except PolicyError as exc:
            raise MessageError(f"{self.where}: {name}: {exc}", code="invalid_policy") from exc
        for what, value in (("@id", parsed.uid), ("target", parsed.target)):
            if isinstance(value, str):
                check_identifier(value, f"{self.where}: {name}.{what}", limit=MAX_NAME)
        return parsed


@dataclass(frozen=True, kw_only=True)
class PidPairMessage(Message):
    """Messages that carry nothing but the two process ids."""

    WIRE: ClassVar[tuple[Prop, ...]] = PIDS
    provider_pid: str
    consumer_pid: str


@dataclass(frozen=True, kw_only=True)
class CodeAndReasonMessage(Message):
    """Termination and error objects: both pids, an optional `code` and `reason` list."""

    WIRE: ClassVar[tuple[Prop, ...]] = (*PIDS, optional_text("code"), reason_list())
    provider_pid: str
    consumer_pid: str
    code: str | None = None
    reason: Sequence[Any] | None = None


# A peer sends the same few offers again and again; parsing one cost more than the rest of its
# message. Kept by the JSON text (and the kind expected), parsed from that text, so a result
# belongs to exactly the content it came from; `Policy` is immutable, so one value is safely
# shared. Errors are not kept: a policy that fails raises again every time.
def _parsed_policy(data: Mapping[str, Any], kind: PolicyKind) -> Policy:
    return _policy_of_text(json.dumps(data, separators=(",", ":")), kind)


@functools.lru_cache(maxsize=1024)
def _policy_of_text(text: str, kind: PolicyKind) -> Policy:
    return parse_policy(json.loads(text), expected_kind=kind)


# -- checks shared by the message models ---------------------------------------------------------


def exactly_one(where: str, **candidates: object) -> None:
    present = [name for name, value in candidates.items() if value is not None]
    if len(present) != 1:
        names = " or ".join(candidates)
        found = ", ".join(present) or "neither"
        raise MessageError(
            f"{where} needs exactly one of {names}; found {found}", code="invalid_message"
        )


def check_callback(value: str, where: str) -> None:
    """DSP: a callback address the receiver cannot use is an unrecoverable error."""
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok or any(c.isspace() for c in value):
        raise MessageError(
            f"{where}: callbackAddress {value!r} must be an absolute http:// or https:// URL",
            code="invalid_callback",
        )


def coerce_enum(value: object, kind: type[E], where: str, name: str) -> E:
    """`value` (a member or its string) as a member of `kind`; `MessageError` otherwise."""
    try:
        if isinstance(value, str):
            return kind(value)
    except ValueError:
        pass
    allowed = ", ".join(m.value for m in kind)
    raise MessageError(
        f"{where}: {name!r} must be one of {allowed}, got {value!r}", code="invalid_field"
    )


def reasons(value: Sequence[Any] | str | None) -> tuple[Any, ...] | None:
    """Normalise a `reason` (array, >= 1 item when present); empty means absent."""
    if value is None:
        return None
    items = (value,) if isinstance(value, str) else tuple(value)
    return items or None


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
