"""What a search for a theme or a place also means, from the shared vocabulary.

A theme includes its narrower concepts (洪水 finds 河川水位 and 雨量). A place, searched with
`near`, includes what lies upstream of it in every basin of the vocabulary that lists it, and
the basin itself; a basin includes all its municipalities.
"""

from __future__ import annotations

from rdflib import URIRef
from rdflib.namespace import SKOS

from catalog.terms import basin_municipalities
from vocab.vocabulary import Vocabulary, load_vocabulary

_BASIN = URIRef("https://w3id.org/tsunagu/vocab/RiverBasin")


def with_narrower(theme: str, vocabulary: Vocabulary | None = None) -> tuple[str, ...]:
    """The theme and every concept narrower than it, transitively, the theme first."""
    graph = (vocabulary or load_vocabulary()).graph
    out: dict[str, None] = {theme: None}
    todo = [URIRef(theme)]
    while todo:
        node = todo.pop()
        below = {*graph.objects(node, SKOS.narrower), *graph.subjects(SKOS.broader, node)}
        for child in below:
            if str(child) not in out:
                out[str(child)] = None
                todo.append(URIRef(str(child)))
    return tuple(out)


def basins(vocabulary: Vocabulary | None = None) -> tuple[str, ...]:
    from rdflib.namespace import RDF

    graph = (vocabulary or load_vocabulary()).graph
    return tuple(sorted(str(b) for b in graph.subjects(RDF.type, _BASIN)))


def upstream_of(place: str, vocabulary: Vocabulary | None = None) -> tuple[str, ...]:
    """The place, then (for a municipality) the basins listing it and the municipalities
    upstream of it in each; for a basin, the basin and all its municipalities."""
    vocabulary = vocabulary or load_vocabulary()
    out: dict[str, None] = {place: None}
    members = basin_municipalities(place, vocabulary)
    if members:
        out.update(dict.fromkeys(members))
        return tuple(out)
    for basin in basins(vocabulary):
        listed = basin_municipalities(basin, vocabulary)
        if place in listed:
            out[basin] = None
            out.update(dict.fromkeys(listed[: listed.index(place)]))
    return tuple(out)
