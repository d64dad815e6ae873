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

The names below are the stable surface; everything else may move.
"""

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
