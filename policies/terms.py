"""ODRL vocabulary and the one canonical spelling of its terms.

Peers spell the same ODRL term in several ways: compact (`use`, as the DSP 2025-1 context
defines it), prefixed (`odrl:use`), as a full IRI (`http://www.w3.org/ns/odrl/2/use`) or as a
node reference (`{"@id": "odrl:use"}`). Everything that compares or evaluates policies works on
the compact spelling produced here, so a result can never depend on how a peer wrote a term.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from policies.errors import PolicyError

ODRL = "http://www.w3.org/ns/odrl/2/"
XSD = "http://www.w3.org/2001/XMLSchema#"
DSPACE = "https://w3id.org/dspace/2025/1/"
TSUNAGU = "https://w3id.org/tsunagu/policy/"
"""The namespace of tsunagu's policy profile (`policies.profile`)."""

# Prefixes the DSP 2025-1 context declares; compact IRIs using them are expanded on input.
PREFIXES: Mapping[str, str] = {
    "odrl": ODRL,
    "xsd": XSD,
    "dspace": DSPACE,
    "dct": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "tsup": TSUNAGU,
    # value namespaces the profile's right operands use (purposes, areas)
    "purpose": "https://w3id.org/tsunagu/vocab/purpose/",
    "dpv": "https://w3id.org/dpv#",
    "sac": "http://data.e-stat.go.jp/lod/sac/",
}


class Operator(StrEnum):
    """The operators the DSP contract schema allows (`negotiation/contract-schema.json`)."""

    EQ = "eq"
    NEQ = "neq"
    GT = "gt"
    GTEQ = "gteq"
    LT = "lt"
    LTEQ = "lteq"
    TERM_LTEQ = "term-lteq"
    HAS_PART = "hasPart"
    IS_A = "isA"
    IS_ALL_OF = "isAllOf"
    IS_ANY_OF = "isAnyOf"
    IS_NONE_OF = "isNoneOf"
    IS_PART_OF = "isPartOf"


class LogicalOperator(StrEnum):
    AND = "and"
    OR = "or"
    XONE = "xone"
    AND_SEQUENCE = "andSequence"


@functools.lru_cache(maxsize=4096)  # asked on every decision about the same few values
def expand(value: str) -> str:
    """`xsd:dateTime` -> `http://www.w3.org/2001/XMLSchema#dateTime` for the known prefixes."""
    prefix, sep, local = value.partition(":")
    if sep and prefix in PREFIXES and not local.startswith("//"):
        return PREFIXES[prefix] + local
    return value


def compact(value: str) -> str:
    """The reverse of `expand` for the XSD namespace only (used for literal datatypes)."""
    if value.startswith(XSD):
        return "xsd:" + value[len(XSD) :]
    return value


def odrl_term(value: str) -> str:
    """`odrl:use` and `http://www.w3.org/ns/odrl/2/use` -> `use`; other IRIs are left alone.

    The ODRL namespace and tsunagu's profile namespace (`tsup:role` -> `role`; the profile
    defines no local name that ODRL also uses) are folded; a community operand such as
    `https://w3id.org/catenax/policy/Membership` keeps its full spelling.
    """
    full = expand(value)
    for namespace in (ODRL, TSUNAGU):
        if full.startswith(namespace) and len(full) > len(namespace):
            return full[len(namespace) :]
    return value


def property_name(key: str) -> str:
    """A JSON key in canonical spelling: ODRL and DSP properties lose prefix or namespace."""
    full = expand(key)
    for namespace in (ODRL, DSPACE, TSUNAGU):
        if full.startswith(namespace) and len(full) > len(namespace):
            return full[len(namespace) :]
    return key


def term_value(value: Any, what: str) -> str:
    """A term given as a string or as `{"@id": ...}` / `{"@value": ...}`, in canonical spelling."""
    if isinstance(value, Mapping):
        inner = value.get("@id", value.get("@value"))
        if isinstance(inner, str) and set(value) <= {"@id", "@value", "@type"}:
            return odrl_term(inner)
        raise PolicyError(
            f"{what} must be a term, not the object {dict(value)!r}", code="invalid_value"
        )
    if isinstance(value, str) and value:
        return odrl_term(value)
    raise PolicyError(f"{what} must be a non-empty string, got {value!r}", code="invalid_value")
