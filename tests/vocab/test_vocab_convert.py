"""The general conversion path: rows, issues, sources, outputs, SHACL on the way."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rdflib.compare import isomorphic

from vocab.contexts import parse_jsonld
from vocab.convert import Conversion, convert_text, convert_to
from vocab.errors import ConversionAborted, MappingError
from vocab.mapping import Mapping
from vocab.records import CSV_COLUMNS, observation_id, observations_graph, to_jsonld_document

HEADER = "日時,局,水位,雨量\n"
M = "http://qudt.org/vocab/unit/M"
MM_H = "http://qudt.org/vocab/unit/MilliM-PER-HR"


def test_a_clean_row_becomes_one_observation_per_property(
    make_mapping: Callable[..., Mapping], station_iri: str
) -> None:
    records, summary = convert_text(HEADER + "R6.9.1 09:10,S1,362,12.5\n", make_mapping())
    level, rain = records
    assert level.id == f"{station_iri}/water-level/20240901T091000"
    assert rain.id == observation_id(station_iri, "rainfall-1h", rain.result_time)
    assert level.observed_property.endswith("/property/water-level")
    assert level.observation_class.endswith("/WaterLevelObservation")
    assert (level.value, level.unit, level.result_time) == (3.62, M, "2024-09-01T09:10:00+09:00")
    assert level.feature_of_interest == station_iri
    assert (rain.value, rain.unit) == (12.5, MM_H)
    assert (summary.rows, summary.converted, summary.warned, summary.rejected) == (1, 1, 0, 0)
    assert summary.records == 2 and summary.validated == 2


def test_bad_rows_are_rejected_with_row_field_value_and_rule(
    make_mapping: Callable[..., Mapping],
) -> None:
    text = HEADER + (
        "R6.9.1 09:10,S1,362,12\n"
        "R6.9.1 09:20,S9,362,12\n"
        "R6.9.1 09:30,S1,abc,12\n"
        "令和6年2月30日 9時,S1,362,12\n"
        "R6.9.1 09:50,S1,363,5\n"
    )
    records, summary = convert_text(text, make_mapping())
    assert (summary.rows, summary.converted, summary.rejected) == (5, 2, 3)
    assert sorted({r.row for r in records}) == [1, 5]
    found = {(i.row, i.field, i.value, i.rule) for i in summary.issues}
    assert found == {
        (2, "局", "S9", "unknown_station_code"),
        (3, "水位", "abc", "invalid_number"),
        (4, "日時", "令和6年2月30日 9時", "nonexistent_date"),
    }
    assert all(i.severity == "error" and i.message for i in summary.issues)


def test_strict_stops_at_the_first_bad_row(make_mapping: Callable[..., Mapping]) -> None:
    text = HEADER + "R6.9.1 09:10,S1,362,12\nR6.9.1 09:20,S1,abc,12\nR6.9.1 09:30,S1,1,1\n"
    conversion = Conversion(io.StringIO(text), make_mapping(), strict=True)
    seen = []
    with pytest.raises(ConversionAborted) as caught:
        for outcome in conversion:
            seen.append(outcome.row)
    assert seen == [1]
    assert "row 2" in caught.value.message
    assert [getattr(i, "rule", None) for i in caught.value.issues] == ["invalid_number"]


def test_lenient_dates_warn_and_strict_dates_reject(make_mapping: Callable[..., Mapping]) -> None:
    text = HEADER + "平成31年5月1日 10:00,S1,100,0\n"
    records, summary = convert_text(text, make_mapping())
    assert [r.result_time for r in records][0] == "2019-05-01T10:00:00+09:00"
    assert summary.warned == 1 and summary.issues[0].rule == "date_outside_era"
    strict = make_mapping(time={"field": "日時", "era_boundary": "strict"})
    records, summary = convert_text(text, strict)
    assert records == [] and summary.rejected == 1


def test_a_missing_reading_is_skipped_with_a_warning(make_mapping: Callable[..., Mapping]) -> None:
    records, summary = convert_text(HEADER + "R6.9.1 09:10,S1,欠測,12\n", make_mapping())
    assert [r.observed_property.rsplit("/", 1)[1] for r in records] == ["rainfall-1h"]
    assert summary.warned == 1
    assert (summary.issues[0].field, summary.issues[0].rule) == ("水位", "missing_value")


def test_numbers_written_by_people(make_mapping: Callable[..., Mapping]) -> None:
    text = HEADER + 'R6.9.1 09:10,S1,"3,620",１２\nR6.9.1 09:20,S1, 318.4 ,+0\n'
    records, _ = convert_text(text, make_mapping())
    assert [r.value for r in records] == [36.2, 12.0, 3.184, 0.0]


def test_a_short_row_is_rejected(make_mapping: Callable[..., Mapping]) -> None:
    records, summary = convert_text(HEADER + "R6.9.1 09:10,S1\n", make_mapping())
    assert records == [] and summary.issues[0].rule == "missing_field"


def test_units_from_a_column_are_checked_per_row(station_iri: str) -> None:
    from vocab.mapping import mapping_from_dict

    mapping = mapping_from_dict(
        {
            "time": {"field": "t"},
            "station": {"field": "s", "codes": {"S1": station_iri}},
            "observations": [{"property": "water-level", "field": "v", "unit_field": "u"}],
        }
    )
    text = (
        "t,s,v,u\nR6.9.1 9:00,S1,362,cm\nR6.9.1 9:10,S1,3.62,m\nR6.9.1 9:20,S1,1,尺\n"
        "R6.9.1 9:30,S1,1,mm/h\nR6.9.1 9:40,S1,12,ft\n"
    )
    records, summary = convert_text(text, mapping)
    assert [r.value for r in records] == [3.62, 3.62, 3.6576]
    assert [(i.row, i.field, i.value, i.rule) for i in summary.issues] == [
        (3, "u", "尺", "unknown_unit"),
        (4, "u", "mm/h", "incompatible_unit"),
    ]


def test_municipality_codes_are_validated_and_stored_with_check_digit(
    make_mapping: Callable[..., Mapping],
) -> None:
    mapping = make_mapping(municipality={"field": "団体"})
    text = "日時,局,水位,雨量,団体\nR6.9.1 9:00,S1,1,1,08290\nR6.9.1 9:10,S1,1,1,082903\n"
    records, summary = convert_text(text, mapping)
    assert {r.local_government_code for r in records} == {"082902"}
    assert {r.municipality for r in records} == {"http://data.e-stat.go.jp/lod/sac/C08290"}
    assert [(i.row, i.rule) for i in summary.issues] == [(2, "municipality_check_digit")]


def test_records_that_fail_their_shape_reject_the_row(
    make_mapping: Callable[..., Mapping],
) -> None:
    text = HEADER + "R6.9.1 09:10,S1,362,12\nR6.9.1 09:20,S1,50000,12\n"
    records, summary = convert_text(text, make_mapping())
    assert [r.row for r in records] == [1, 1]
    (issue,) = summary.issues
    assert (issue.row, issue.field, issue.value, issue.rule) == (
        2,
        "value",
        "500.0",
        "shacl:MaxInclusive",
    )
    unchecked, _ = convert_text(text, make_mapping(), validate_every=0)
    assert [r.value for r in unchecked if r.row == 2][0] == 500.0


def test_sampling_checks_one_row_in_n(make_mapping: Callable[..., Mapping]) -> None:
    rows = [f"R6.9.1 9:{n:02d},S1,{100 + n},1\n" for n in range(10)]
    unsampled_bad = rows.copy()
    unsampled_bad[3] = "R6.9.1 9:03,S1,99999,1\n"  # row 4: not in the sample, passes unchecked
    records, summary = convert_text(
        HEADER + "".join(unsampled_bad), make_mapping(), validate_every=4
    )
    assert summary.validated == 6  # rows 1, 5 and 9, two records each
    assert summary.rejected == 0 and [r.value for r in records if r.row == 4][0] == 999.99
    sampled_bad = rows.copy()
    sampled_bad[4] = "R6.9.1 9:04,S1,99999,1\n"  # row 5: in the sample, rejected
    records, summary = convert_text(HEADER + "".join(sampled_bad), make_mapping(), validate_every=4)
    assert summary.rejected == 1 and summary.issues[0].row == 5
    assert sorted({r.row for r in records}) == [1, 2, 3, 4, 6, 7, 8, 9, 10]


def test_json_sources_with_dotted_fields(tmp_path: Path, station_iri: str) -> None:
    from vocab.mapping import mapping_from_dict

    path = tmp_path / "in.json"
    path.write_text(
        json.dumps(
            {
                "data": {
                    "items": [
                        {"at": "2024-09-01T09:10:00+09:00", "st": "S1", "wl": {"v": 2.85}},
                        {"at": "2024-09-01T09:20:00+09:00", "st": "S1", "wl": {"v": None}},
                    ]
                }
            }
        ),
        encoding="utf-8",
    )
    mapping = mapping_from_dict(
        {
            "source": {"format": "json", "records": "data.items"},
            "time": {"field": "at"},
            "station": {"field": "st", "codes": {"S1": station_iri}},
            "observations": [{"property": "water-level", "field": "wl.v", "unit": "m"}],
        }
    )
    conversion = Conversion(path, mapping)
    records = list(conversion.records())
    assert [r.value for r in records] == [2.85]
    assert conversion.summary.issues[0].rule == "missing_value"


def test_json_lines_and_missing_records(tmp_path: Path, station_iri: str) -> None:
    from vocab.mapping import mapping_from_dict

    def mapping(fmt: str, records: str = "") -> Mapping:
        return mapping_from_dict(
            {
                "source": {"format": fmt, "records": records},
                "time": {"field": "at"},
                "station": {"field": "st", "codes": {"S1": station_iri}},
                "observations": [{"property": "rainfall-10min", "field": "mm", "unit": "mm"}],
            }
        )

    lines = tmp_path / "in.jsonl"
    lines.write_text(
        '{"at": "R6.9.1 9:00", "st": "S1", "mm": 3}\n\n{"at": "R6.9.1 9:10", "st": "S1", "mm": 4.5}\n',
        encoding="utf-8",
    )
    assert [r.value for r in Conversion(lines, mapping("jsonl")).records()] == [3.0, 4.5]
    document = tmp_path / "in.json"
    document.write_text('{"items": []}', encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        list(Conversion(document, mapping("json", "records")).records())
    assert caught.value.code == "records_not_found"


def test_shift_jis_sources(tmp_path: Path, make_mapping: Callable[..., Mapping]) -> None:
    path = tmp_path / "sjis.csv"
    path.write_bytes((HEADER + "令和6年9月1日 9時10分,S1,362,12\n").encode("cp932"))
    mapping = make_mapping(source={"format": "csv", "encoding": "cp932"})
    assert [r.value for r in Conversion(path, mapping).records()] == [3.62, 12.0]
    with pytest.raises(MappingError) as caught:
        list(Conversion(path, make_mapping()).records())
    assert caught.value.code == "source_encoding"


def test_a_source_without_the_mapped_columns(make_mapping: Callable[..., Mapping]) -> None:
    with pytest.raises(MappingError) as caught:
        convert_text("日付,局,水位,雨量\n", make_mapping())
    assert caught.value.code == "missing_columns"
    assert "日時" in caught.value.message


def test_csv_and_json_ld_outputs(make_mapping: Callable[..., Mapping]) -> None:
    text = HEADER + "R6.9.1 09:10,S1,362,12.5\nR6.9.1 09:20,S1,370,10\n"
    csv_out = io.StringIO()
    convert_to(io.StringIO(text), make_mapping(), csv_out)
    lines = csv_out.getvalue().splitlines()
    assert lines[0] == ",".join(CSV_COLUMNS)
    assert lines[1].split(",")[4:7] == ["2024-09-01T09:10:00+09:00", "3.62", M]
    jsonld_out = io.StringIO()
    convert_to(io.StringIO(text), make_mapping(), jsonld_out, output_format="jsonld")
    document: dict[str, Any] = json.loads(jsonld_out.getvalue())
    assert document["@context"] == "https://w3id.org/tsunagu/vocab/context.jsonld"
    assert document["@graph"][0]["hasResult"]["value"] == 3.62
    records, _ = convert_text(text, make_mapping())
    assert isomorphic(parse_jsonld(document), observations_graph(records))
    assert isomorphic(parse_jsonld(to_jsonld_document(records)), observations_graph(records))


class CountingLines:
    """A source that makes its lines on demand and counts how many were taken."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.taken = 0

    def __iter__(self) -> Iterator[str]:
        yield HEADER
        for n in range(self.rows):
            self.taken += 1
            yield f"R6.9.1 {n // 60 % 24}:{n % 60:02d},S1,{n % 500},1\n"


def test_rows_stream_through(make_mapping: Callable[..., Mapping]) -> None:
    source = CountingLines(1_000_000)
    conversion = Conversion(source, make_mapping(), validate_every=0)  # type: ignore[arg-type]
    first = next(iter(conversion))
    assert first.row == 1 and source.taken < 100
