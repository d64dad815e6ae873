"""Helpers for the profile tests: requests, one-constraint policies, and the full-IRI
spelling of a compact policy, built from the published context (so the context is tested too)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from policies.profile import context
from policies.terms import ODRL

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
BASIN = "https://w3id.org/tsunagu/id/basin/tsunagu-river"
OTHER_BASIN = "https://w3id.org/tsunagu/id/basin/other-river"
STATION = "https://w3id.org/tsunagu/id/station/tsunagu-river/joryu-bashi"
CITY = {
    "did": "did:web:c-village.example",
    "role": "municipality",
    "municipality_code": "082902",  # A市's code in the example stations
    "memberships": ["urn:council:basin", "urn:council:disaster"],
}

_OURS = {k: v for k, v in context()["@context"].items() if not k.startswith("@")}
_PREFIXES = {k: v for k, v in _OURS.items() if isinstance(v, str) and v.endswith(("/", "#"))}
_VOCAB_KEYS = {"action", "leftOperand", "operator", "conflict"}


def _iri(term: str) -> str:
    """The full IRI of a compact term: the profile context first, then ODRL (the DSP context
    maps every ODRL term it defines to the ODRL namespace)."""
    mapped = _OURS.get(term)
    if isinstance(mapped, dict):
        mapped = mapped["@id"]
    if mapped is None:
        return term if ":" in term else ODRL + term
    prefix, _, local = str(mapped).partition(":")
    return _PREFIXES[prefix] + local if prefix in _PREFIXES else str(mapped)


def full_iri(doc: Any, key: str = "") -> Any:
    """The same policy with every key and term as a full IRI and every value as a JSON-LD
    value object, the way an expanded document spells it."""
    if isinstance(doc, list):
        return [full_iri(v, key) for v in doc]
    if isinstance(doc, dict) and ("@value" in doc or set(doc) == {"@id"}):
        return [doc]  # already a value object or a node reference
    if isinstance(doc, dict):
        out: dict[str, Any] = {}
        for k, v in doc.items():
            if k == "@id":
                out[k] = v
            elif k == "@type":
                out[k] = [_iri(v)] if v in ("FloodAlert",) else v
            else:
                out[_iri(k)] = full_iri(v, k)
        return out
    if key in _VOCAB_KEYS and isinstance(doc, str):
        return [{"@id": _iri(doc)}]
    if isinstance(doc, str):
        return [{"@value": doc}]
    if isinstance(doc, bool | int | float):
        return [{"@value": doc}]
    return doc


def offer(*constraints: dict[str, Any], **extra: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {"action": extra.pop("action", "use")}
    if constraints:
        rule["constraint"] = list(constraints)
    return {"@id": "urn:offer:t", "@type": "Offer", "permission": [rule], **extra}


def c(left: str, op: str, right: Any, **extra: Any) -> dict[str, Any]:
    return {"leftOperand": left, "operator": op, "rightOperand": right, **extra}
