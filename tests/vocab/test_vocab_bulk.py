"""Bulk conversion must write exactly what the general path writes, row for row."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from vocab import bulk
from vocab.bulk import bulk_convert
from vocab.convert import convert_to
from vocab.errors import ConversionAborted
from vocab.mapping import Mapping, mapping_from_dict

HEADER = "日時,局,水位,雨量,団体\n"


def readings(rows: int) -> str:
    """Clean rows in two notations, with a bad or unusual row now and then."""
    lines = [HEADER]
    for n in range(rows):
        stamp = f"R6.9.{1 + n // 144} {n % 144 // 6}:{n % 6 * 10:02d}"
        if n % 2:
            stamp = f"令和6年9月{1 + n // 144}日 {n % 144 // 6}時{n % 6 * 10}分"
        level, rain, code, station = str(100 + n % 400), str(n % 30), "08290", "S1"
        if n % 97 == 5:
            level = "欠測"
        if n % 101 == 7:
            level = "abc"
        if n % 89 == 3:
            station = "S9"
        if n % 83 == 11:
            code = "082903"
        if n % 79 == 13:
            stamp = "平成31年5月1日 10:00"  # lenient: converted with a warning
        if n % 73 == 17:
            rain = "1,234"
        lines.append(f'{stamp},{station},{level},"{rain}",{code}\n')
    return "".join(lines)


@pytest.fixture
def mapping(station_iri: str) -> Mapping:
    return mapping_from_dict(
        {
            "time": {"field": "日時", "era_boundary": "lenient"},
            "station": {"field": "局", "codes": {"S1": station_iri, "S2": station_iri + "2"}},
            "municipality": {"field": "団体"},
            "observations": [
                {"property": "water-level", "field": "水位", "unit": "cm"},
                {"property": "rainfall-1h", "field": "雨量", "unit": "mm"},
            ],
        }
    )


def general(text: str, mapping: Mapping, validate_every: int) -> tuple[str, object]:
    out = io.StringIO()
    summary = convert_to(io.StringIO(text), mapping, out, validate_every=validate_every)
    return out.getvalue(), summary


def fast(text: str, mapping: Mapping, validate_every: int) -> tuple[str, object]:
    out = io.StringIO()
    summary = bulk_convert(io.StringIO(text), mapping, out, validate_every=validate_every)
    return out.getvalue(), summary


def counts(summary: object) -> tuple[int, ...]:
    return tuple(
        getattr(summary, name) for name in ("rows", "converted", "warned", "rejected", "records")
    )


@pytest.mark.parametrize("block", [1, 7, 256])
def test_bulk_writes_what_the_general_path_writes(
    mapping: Mapping, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "BLOCK", block)
    text = readings(1500)
    expected, expected_summary = general(text, mapping, 0)
    got, got_summary = fast(text, mapping, 0)
    assert got == expected
    assert counts(got_summary) == counts(expected_summary)
    assert counts(got_summary)[3] > 20  # the sample really had bad rows


def test_sampled_rows_are_checked_and_only_move_in_the_output(mapping: Mapping) -> None:
    text = readings(900)
    expected, expected_summary = general(text, mapping, 0)
    got, got_summary = fast(text, mapping, 100)
    assert sorted(got.splitlines()) == sorted(expected.splitlines())
    assert counts(got_summary) == counts(expected_summary)
    assert got_summary.validated == 18  # type: ignore[attr-defined]


def test_a_sampled_row_that_fails_its_shape_is_rejected(mapping: Mapping) -> None:
    text = HEADER + "R6.9.1 9:00,S1,99999,1,08290\n" + "R6.9.1 9:10,S1,100,1,08290\n"
    got, summary = fast(text, mapping, 1)
    assert summary.rejected == 1  # type: ignore[attr-defined]
    assert "99999" not in got and len(got.splitlines()) == 3


def test_issues_match_the_general_path(mapping: Mapping) -> None:
    text = readings(400)
    _, expected = general(text, mapping, 0)
    _, got = fast(text, mapping, 0)
    assert got.issues == expected.issues  # type: ignore[attr-defined]


def test_strict_bulk_stops_at_the_first_bad_row(mapping: Mapping) -> None:
    text = HEADER + "R6.9.1 9:00,S1,100,1,08290\nR6.9.1 9:10,S9,100,1,08290\n"
    out = io.StringIO()
    with pytest.raises(ConversionAborted) as caught:
        bulk_convert(io.StringIO(text), mapping, out, strict=True, validate_every=0)
    assert "row 2" in caught.value.message
    assert caught.value.issues


def test_station_iris_that_need_quoting_take_the_general_path(
    make_mapping: Callable[..., Mapping],
) -> None:
    odd = "https://example.org/stations/a,b"
    mapping = make_mapping(station={"field": "局", "codes": {"S1": odd}})
    text = "日時,局,水位,雨量\nR6.9.1 9:00,S1,100,1\nR6.9.1 9:10,S1,101,1\n"
    expected, _ = general(text, mapping, 0)
    got, _ = fast(text, mapping, 0)
    assert got == expected and '"https://example.org/stations/a,b"' in got


def test_json_sources_work_in_bulk(station_iri: str) -> None:
    mapping = mapping_from_dict(
        {
            "source": {"format": "jsonl"},
            "time": {"field": "at"},
            "station": {"field": "st", "codes": {"S1": station_iri}},
            "municipality": {"value": "085901"},
            "observations": [{"property": "water-level", "field": "v", "unit_field": "u"}],
        }
    )
    text = "".join(
        f'{{"at": "2024-09-01T09:{n:02d}:00+09:00", "st": "S1", "v": {n}, "u": "{u}"}}\n'
        for n, u in zip(range(40), ["m", "cm", "ft", "in"] * 10, strict=True)
    )
    expected, _ = general(text, mapping, 0)
    got, _ = fast(text, mapping, 0)
    assert got == expected
