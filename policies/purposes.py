"""Purposes and their hierarchy, for `purpose isA <concept>`.

ODRL's `isA` asks whether the stated purpose is an instance of a broader one: an evacuation
decision-support request is a disaster-response use. The hierarchy is the shared vocabulary's
`skos:broader` between purpose concepts (and DPV's, where a vocabulary carries it); it is read
once and kept as a plain table.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from vocab.vocabulary import load_vocabulary

_BROADER = """
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?narrow ?broad WHERE {
  { ?narrow skos:broader ?broad } UNION { ?broad skos:narrower ?narrow }
  FILTER (isIRI(?narrow) && isIRI(?broad))
}
"""


class PurposeTree:
    def __init__(self, broader: Mapping[str, Iterable[str]]) -> None:
        self._broader = {k: frozenset(v) for k, v in broader.items()}

    def is_a(self, purpose: str, concept: str) -> bool:
        """True when `purpose` is `concept` or lies beneath it (following broader links)."""
        seen: set[str] = set()
        pending = [purpose]
        while pending:
            current = pending.pop()
            if current == concept:
                return True
            if current in seen:
                continue
            seen.add(current)
            pending.extend(self._broader.get(current, ()))
        return False

    def concepts(self) -> frozenset[str]:
        """Every purpose concept the hierarchy names."""
        return frozenset(self._broader).union(*self._broader.values())

    def lineage(self, purpose: str) -> frozenset[str]:
        """`purpose` and every concept above it: what `is_a(purpose, c)` is true for."""
        seen: set[str] = set()
        pending = [purpose]
        while pending:
            current = pending.pop()
            if current not in seen:
                seen.add(current)
                pending.extend(self._broader.get(current, ()))
        return frozenset(seen)


@functools.cache
def vocabulary_purposes() -> PurposeTree:
    """The shared vocabulary's purpose hierarchy (skos:broader, and skos:narrower read back)."""
    rows: Any = load_vocabulary().graph.query(_BROADER)
    broader: dict[str, set[str]] = {}
    for narrow, broad in rows:
        broader.setdefault(str(narrow), set()).add(str(broad))
    return PurposeTree(broader)
