"""Municipality codes (check digits, 5/6-digit forms) and station code tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vocab.codes import (
    StationCodeTable,
    check_digit,
    estat_sac_iri,
    normalise_municipality_code,
)
from vocab.errors import CodeError

# Codes seen in published sources, including remainders 0 (-> 1) and 1 (-> 0).
KNOWN = [
    "131016",
    "131041",
    "131130",
    "011002",
    "112038",
    "131121",
    "134210",
    "152021",
    "172014",
    "130001",
    "141003",
    "271004",
    "082201",
]


@pytest.mark.parametrize("code", KNOWN)
def test_check_digits_of_published_codes(code: str) -> None:
    assert check_digit(code[:5]) == code[5]
    assert normalise_municipality_code(code[:5]) == code
    assert normalise_municipality_code(code) == code


@pytest.mark.parametrize("text", ["１３１０１", " 13101 ", "13-101", "131016"])
def test_full_width_spaces_and_hyphens_are_accepted(text: str) -> None:
    assert normalise_municipality_code(text) == "131016"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("131017", "municipality_check_digit"),
        ("131040", "municipality_check_digit"),
        ("1310", "invalid_municipality_code"),
        ("1310167", "invalid_municipality_code"),
        ("A3101", "invalid_municipality_code"),
        ("", "invalid_municipality_code"),
        ("48001", "unknown_prefecture"),
        ("00100", "unknown_prefecture"),
    ],
)
def test_bad_codes_say_what_is_wrong(text: str, code: str) -> None:
    with pytest.raises(CodeError) as caught:
        normalise_municipality_code(text)
    assert caught.value.code == code


@given(st.integers(1, 47), st.integers(0, 999))
def test_every_5_digit_code_gets_a_6th_digit_that_validates(prefecture: int, city: int) -> None:
    five = f"{prefecture:02d}{city:03d}"
    six = normalise_municipality_code(five)
    assert six[:5] == five
    assert normalise_municipality_code(six) == six
    wrong = six[:5] + str((int(six[5]) + 1) % 10)
    with pytest.raises(CodeError):
        normalise_municipality_code(wrong)


def test_estat_area_iris_use_the_5_digit_form() -> None:
    assert estat_sac_iri("131016") == "http://data.e-stat.go.jp/lod/sac/C13101"


def test_station_codes_translate_to_shared_iris(tmp_path: Path) -> None:
    table_file = tmp_path / "codes.csv"
    table_file.write_text("\ufeffcode,iri\n0101,https://example.org/s/1\n", encoding="utf-8")
    table = StationCodeTable.from_csv(table_file)
    assert table.translate("0101") == "https://example.org/s/1"
    assert table.translate("０１０１ ") == "https://example.org/s/1"
    with pytest.raises(CodeError) as caught:
        table.translate("0102")
    assert caught.value.code == "unknown_station_code"


def test_station_tables_reject_conflicts_and_non_iris(tmp_path: Path) -> None:
    with pytest.raises(CodeError) as conflict:
        StationCodeTable({"01": "https://e.org/a", "０１": "https://e.org/b"})
    assert conflict.value.code == "duplicate_station_code"
    with pytest.raises(CodeError) as not_iri:
        StationCodeTable({"01": "上流橋"})
    assert not_iri.value.code == "invalid_station_iri"
    bad = tmp_path / "bad.csv"
    bad.write_text("局,IRI\n01,https://e.org/a\n", encoding="utf-8")
    with pytest.raises(CodeError) as columns:
        StationCodeTable.from_csv(bad)
    assert columns.value.code == "invalid_station_table"
