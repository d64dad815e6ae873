"""Purposes and their hierarchy, for `purpose isA <concept>`.

ODRL's `isA` asks whether the stated purpose is an instance of a broader one: an evacuation
decision-support request is a disaster-response use. The hierarchy is the shared vocabulary's
`skos:broader` between purpose concepts (and DPV's, where a vocabulary carries it); it is read
once and kept as a plain table.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from rdflib import URIRef
from rdflib.namespace import SKOS

from vocab.vocabulary import load_vocabulary


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


@functools.cache
def vocabulary_purposes() -> PurposeTree:
    """The shared vocabulary's purpose hierarchy (skos:broader, and skos:narrower read back)."""
    graph = load_vocabulary().graph
    broader: dict[str, set[str]] = {}
    for narrow, broad in graph.subject_objects(SKOS.broader):
        if isinstance(narrow, URIRef) and isinstance(broad, URIRef):
            broader.setdefault(str(narrow), set()).add(str(broad))
    for broad, narrow in graph.subject_objects(SKOS.narrower):
        if isinstance(narrow, URIRef) and isinstance(broad, URIRef):
            broader.setdefault(str(narrow), set()).add(str(broad))
    return PurposeTree(broader)
