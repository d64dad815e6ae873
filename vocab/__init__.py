"""tsunagu's shared vocabulary and the conversion of participants' data into the shared model.

Modules, by concept:

    vocabulary   the packaged Turtle, loaded once; units, observable properties, term lookup
    namespaces   namespace IRIs (tsunagu's own: https://w3id.org/tsunagu/vocab/)
    eras         era table, 和暦 writing     units      QUDT units and conversion
    dates        date notations -> ISO 8601  date_cache  parse_date, cached for bulk rows
    codes        municipality and station codes
    mapping      declarative mapping files   sources    CSV / JSON / JSON Lines as rows
    convert      rows -> observations         bulk       large conversions straight to CSV
    outcomes     row issues and summaries     writers    CSV and JSON-LD output
    records      the shared-model record
    shapes       SHACL validation             stations / thresholds / flood   the flood demo
    versioning   releases, deprecation, diff  extension  participants' local terms
    contexts     pinned JSON-LD contexts      publication  content negotiation, HTML

The names below are the stable surface; everything else may move. They are loaded on first
use, so that importing one module (`vocab.errors`) does not load them all (rdflib, pyshacl).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vocab.bulk import bulk_convert
    from vocab.codes import check_digit, estat_sac_iri, normalise_municipality_code
    from vocab.convert import Conversion, convert_to
    from vocab.dates import ParsedDate, parse_date, parse_fiscal_year
    from vocab.eras import format_wareki
    from vocab.errors import VocabError
    from vocab.extension import check_extension
    from vocab.flood import FloodWatchReport, convert_and_classify
    from vocab.mapping import Mapping, load_mapping
    from vocab.outcomes import ConversionSummary, RowIssue, RowOutcome
    from vocab.records import (
        Observation,
        observations_from_csv,
        observations_from_graph,
        to_jsonld,
        to_jsonld_document,
    )
    from vocab.shapes import ShapeViolation, validate_graph
    from vocab.stations import Station, load_stations
    from vocab.thresholds import Classification, classify, classify_observations, risk_ladder
    from vocab.versioning import VocabularyDiff, diff
    from vocab.vocabulary import Vocabulary, load_vocabulary, release_graph, releases, shapes_graph

_WHERE = {
    "Classification": "vocab.thresholds",
    "Conversion": "vocab.convert",
    "ConversionSummary": "vocab.outcomes",
    "FloodWatchReport": "vocab.flood",
    "Mapping": "vocab.mapping",
    "Observation": "vocab.records",
    "ParsedDate": "vocab.dates",
    "RowIssue": "vocab.outcomes",
    "RowOutcome": "vocab.outcomes",
    "ShapeViolation": "vocab.shapes",
    "Station": "vocab.stations",
    "VocabError": "vocab.errors",
    "Vocabulary": "vocab.vocabulary",
    "VocabularyDiff": "vocab.versioning",
    "bulk_convert": "vocab.bulk",
    "check_digit": "vocab.codes",
    "check_extension": "vocab.extension",
    "classify": "vocab.thresholds",
    "classify_observations": "vocab.thresholds",
    "convert_and_classify": "vocab.flood",
    "convert_to": "vocab.convert",
    "diff": "vocab.versioning",
    "estat_sac_iri": "vocab.codes",
    "format_wareki": "vocab.eras",
    "load_mapping": "vocab.mapping",
    "load_stations": "vocab.stations",
    "load_vocabulary": "vocab.vocabulary",
    "normalise_municipality_code": "vocab.codes",
    "observations_from_csv": "vocab.records",
    "observations_from_graph": "vocab.records",
    "parse_date": "vocab.dates",
    "parse_fiscal_year": "vocab.dates",
    "release_graph": "vocab.vocabulary",
    "releases": "vocab.vocabulary",
    "risk_ladder": "vocab.thresholds",
    "shapes_graph": "vocab.vocabulary",
    "to_jsonld": "vocab.records",
    "to_jsonld_document": "vocab.records",
    "validate_graph": "vocab.shapes",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'vocab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Classification",
    "Conversion",
    "ConversionSummary",
    "FloodWatchReport",
    "Mapping",
    "Observation",
    "ParsedDate",
    "RowIssue",
    "RowOutcome",
    "ShapeViolation",
    "Station",
    "VocabError",
    "Vocabulary",
    "VocabularyDiff",
    "bulk_convert",
    "check_digit",
    "check_extension",
    "classify",
    "classify_observations",
    "convert_and_classify",
    "convert_to",
    "diff",
    "estat_sac_iri",
    "format_wareki",
    "load_mapping",
    "load_stations",
    "load_vocabulary",
    "normalise_municipality_code",
    "observations_from_csv",
    "observations_from_graph",
    "parse_date",
    "parse_fiscal_year",
    "release_graph",
    "releases",
    "risk_ladder",
    "shapes_graph",
    "to_jsonld",
    "to_jsonld_document",
    "validate_graph",
]
