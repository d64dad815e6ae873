"""Themes, places and units of catalogue entries, checked against the shared vocabulary.

`check_terms` refuses what the vocabulary does not know (publishing runs it); the `resolve_*`
functions turn what an author writes (a slug, a CURIE, a label, a municipality code, a unit
spelling) into the IRI the model holds, or raise `UnknownTerm`.
"""

from __future__ import annotations

import re
import unicodedata

from rdflib import URIRef
from rdflib.namespace import RDF, SKOS

from catalog.errors import UnknownTerm
from catalog.model import Catalog, Dataset, DatasetSeries, Measure
from catalog.namespaces import BASINS, MUNICIPALITIES, THEMES, TSU
from vocab.codes import normalise_municipality_code
from vocab.errors import VocabError
from vocab.namespaces import expand_curie
from vocab.vocabulary import Vocabulary, load_vocabulary

_THEME_SCHEME = URIRef(TSU + "ThemeScheme")
_BASIN = URIRef(TSU + "RiverBasin")
_SAC = re.compile(re.escape(MUNICIPALITIES) + r"C(\d{5})")


def check_terms(catalog: Catalog, vocabulary: Vocabulary | None = None) -> None:
    """Raise `UnknownTerm` for the first theme, place, property or unit the vocabulary lacks."""
    vocabulary = vocabulary or load_vocabulary()
    for place in catalog.spatial:
        check_place(place, vocabulary, where=f"catalog {catalog.id!r}")
    for series in catalog.series:
        check_entry_terms(series, vocabulary)
    for dataset in catalog.all_datasets():
        check_entry_terms(dataset, vocabulary)
    for child in catalog.catalogs:
        for series in child.series:
            check_entry_terms(series, vocabulary)


def check_entry_terms(entry: Dataset | DatasetSeries, vocabulary: Vocabulary) -> None:
    where = f"{'dataset series' if isinstance(entry, DatasetSeries) else 'dataset'} {entry.id!r}"
    for theme in entry.themes:
        check_theme(theme, vocabulary, where=where)
    for place in entry.spatial:
        check_place(place, vocabulary, where=where)
    if isinstance(entry, Dataset):
        for measure in entry.measures:
            check_measure(measure, vocabulary, where=where)


def check_theme(iri: str, vocabulary: Vocabulary, *, where: str) -> None:
    if (URIRef(iri), SKOS.inScheme, _THEME_SCHEME) not in vocabulary.graph:
        raise UnknownTerm(
            f"{where}: theme {iri!r} is not in the vocabulary's theme scheme", code="unknown_theme"
        )
    if vocabulary.is_deprecated(iri):
        raise UnknownTerm(
            f"{where}: theme {iri!r} is deprecated; use {vocabulary.replacement(iri)}",
            code="deprecated_theme",
        )


def check_place(iri: str, vocabulary: Vocabulary, *, where: str) -> None:
    """A place is an e-Stat municipality IRI (real prefecture) or a basin of the vocabulary."""
    match = _SAC.fullmatch(iri)
    if match:
        try:
            normalise_municipality_code(match.group(1))
        except VocabError as exc:
            raise UnknownTerm(f"{where}: place {iri!r}: {exc}", code="unknown_place") from exc
        return
    if (URIRef(iri), RDF.type, _BASIN) in vocabulary.graph:
        return
    raise UnknownTerm(
        f"{where}: place {iri!r} is neither a municipality ({MUNICIPALITIES}C<5 digits>) "
        "nor a river basin of the vocabulary",
        code="unknown_place",
    )


def check_measure(measure: Measure, vocabulary: Vocabulary, *, where: str) -> None:
    prop = vocabulary.properties.get(measure.property)
    if prop is None:
        raise UnknownTerm(
            f"{where}: {measure.property!r} is not an observable property of the vocabulary",
            code="unknown_property",
        )
    try:
        unit = vocabulary.units.get(measure.unit)
    except VocabError as exc:
        raise UnknownTerm(f"{where}: {exc}", code="unknown_unit") from exc
    if unit.dimension != prop.canonical_unit.dimension:
        raise UnknownTerm(
            f"{where}: {prop.slug} is measured in {prop.canonical_unit.symbol} or a unit of the "
            f"same kind, not {unit.symbol}",
            code="incompatible_unit",
        )


# -- what authors write -> IRIs ---------------------------------------------------------------


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def resolve_theme(text: str, vocabulary: Vocabulary | None = None) -> str:
    """A theme by slug (`rainfall`), CURIE (`theme:rainfall`), IRI or label (`雨量`)."""
    vocabulary = vocabulary or load_vocabulary()
    written = text.strip()
    iri = expand_curie(written) if ":" in written else THEMES + written
    themes = list(vocabulary.graph.subjects(SKOS.inScheme, _THEME_SCHEME))
    if URIRef(iri) not in themes:
        wanted = _fold(written)
        iri = next(
            (
                str(t)
                for t in themes
                for p in (SKOS.prefLabel, SKOS.altLabel)
                for label in vocabulary.graph.objects(t, p)
                if _fold(str(label)) == wanted
            ),
            iri,
        )
    check_theme(iri, vocabulary, where="theme")
    return iri


def resolve_place(text: str, vocabulary: Vocabulary | None = None) -> str:
    """A place by municipality code (`202151`, `20215`), e-Stat IRI, basin slug, CURIE or IRI."""
    vocabulary = vocabulary or load_vocabulary()
    written = unicodedata.normalize("NFKC", text).strip()
    if written.isdigit():
        try:
            return MUNICIPALITIES + "C" + normalise_municipality_code(written)[:5]
        except VocabError as exc:
            raise UnknownTerm(f"place {text!r}: {exc}", code="unknown_place") from exc
    iri = expand_curie(written) if ":" in written else BASINS + written
    check_place(iri, vocabulary, where="place")
    return iri


def resolve_unit(text: str, vocabulary: Vocabulary | None = None) -> str:
    """A unit by IRI, CURIE (`unit:M`) or spelling (`m`, `mm/h`, `メートル`)."""
    vocabulary = vocabulary or load_vocabulary()
    try:
        if text.startswith(("http://", "https://", "unit:")):
            return vocabulary.units.get(expand_curie(text)).iri
        return vocabulary.units.lookup(text).iri
    except VocabError as exc:
        raise UnknownTerm(str(exc), code="unknown_unit") from exc


def resolve_property(text: str, vocabulary: Vocabulary | None = None) -> str:
    """An observable property by slug (`water-level`), CURIE or IRI."""
    vocabulary = vocabulary or load_vocabulary()
    try:
        return vocabulary.observable_property(text)[0].iri
    except VocabError as exc:
        raise UnknownTerm(str(exc), code="unknown_property") from exc


def basin_municipalities(basin: str, vocabulary: Vocabulary | None = None) -> tuple[str, ...]:
    """The basin's municipalities, upstream first (empty for an unknown basin)."""
    vocabulary = vocabulary or load_vocabulary()
    head = vocabulary.graph.value(URIRef(basin), URIRef(TSU + "municipalities"))
    members: list[str] = []
    while head is not None and head != RDF.nil:
        first = vocabulary.graph.value(head, RDF.first)
        if first is not None:
            members.append(str(first))
        head = vocabulary.graph.value(head, RDF.rest)
    return tuple(members)
