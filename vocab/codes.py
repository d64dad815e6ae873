"""Codes: 全国地方公共団体コード (municipality codes) and local station codes.

A municipality code has 2 prefecture digits (JIS X 0401), 3 municipality digits (JIS X 0402)
and, in the 6-digit form used by the Ministry of Internal Affairs and GIF, a check digit:
``r = (6*d1 + 5*d2 + 4*d3 + 3*d4 + 2*d5) mod 11``, check digit ``(11 - r) mod 10``.
Both forms are accepted; the 6-digit form is stored. e-Stat identifies municipalities by the
5-digit form in ``http://data.e-stat.go.jp/lod/sac/C{code}``.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Mapping
from pathlib import Path

from vocab.errors import CodeError
from vocab.namespaces import ESTAT_SAC

_WEIGHTS = (6, 5, 4, 3, 2)


def check_digit(code5: str) -> str:
    """The check digit of a 5-digit municipality code (13101 -> '6')."""
    if len(code5) != 5 or not code5.isascii() or not code5.isdigit():
        raise CodeError(f"{code5!r} is not a 5-digit code", code="invalid_municipality_code")
    remainder = sum(w * int(d) for w, d in zip(_WEIGHTS, code5, strict=True)) % 11
    return str((11 - remainder) % 10)


def normalise_municipality_code(text: str) -> str:
    """The validated 6-digit form of a 5- or 6-digit municipality code.

    Full-width digits are accepted; hyphens and spaces are ignored. Raises `CodeError` with code
    ``invalid_municipality_code``, ``unknown_prefecture`` or ``municipality_check_digit``.
    """
    digits = unicodedata.normalize("NFKC", text).strip().replace("-", "").replace(" ", "")
    if len(digits) not in (5, 6) or not digits.isascii() or not digits.isdigit():
        raise CodeError(
            f"{text!r} is not a 5- or 6-digit municipality code", code="invalid_municipality_code"
        )
    prefecture = int(digits[:2])
    if not 1 <= prefecture <= 47:
        raise CodeError(
            f"{text!r}: prefecture {digits[:2]} does not exist (01-47)", code="unknown_prefecture"
        )
    expected = check_digit(digits[:5])
    if len(digits) == 6 and digits[5] != expected:
        raise CodeError(
            f"{text!r}: check digit should be {expected} ({digits[:5]}{expected})",
            code="municipality_check_digit",
        )
    return digits[:5] + expected


def estat_sac_iri(code: str) -> str:
    """The e-Stat standard area code IRI of a municipality (5- or 6-digit code)."""
    return f"{ESTAT_SAC}C{normalise_municipality_code(code)[:5]}"


def normalise_station_code(text: str) -> str:
    """Station codes compare after NFKC and trimming (ＡＢ０１ and 'AB01 ' are AB01)."""
    return unicodedata.normalize("NFKC", text).strip()


class StationCodeTable:
    """Translates a participant's local station codes to the shared station IRIs."""

    def __init__(self, codes: Mapping[str, str], *, source: str = "mapping") -> None:
        self.source = source
        self._codes: dict[str, str] = {}
        for code, iri in codes.items():
            key = normalise_station_code(code)
            if key in self._codes and self._codes[key] != iri:
                raise CodeError(
                    f"{source}: station code {code!r} is listed twice with different IRIs",
                    code="duplicate_station_code",
                )
            if not iri.startswith(("http://", "https://", "urn:")):
                raise CodeError(
                    f"{source}: station code {code!r} maps to {iri!r}, which is not an IRI",
                    code="invalid_station_iri",
                )
            self._codes[key] = iri

    @classmethod
    def from_csv(
        cls, path: str | Path, *, code_column: str = "code", iri_column: str = "iri"
    ) -> StationCodeTable:
        """Read a two-column table (header ``code,iri`` unless told otherwise)."""
        path = Path(path)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not {code_column, iri_column} <= set(reader.fieldnames):
                raise CodeError(
                    f"{path}: needs columns {code_column!r} and {iri_column!r}",
                    code="invalid_station_table",
                )
            codes = {row[code_column]: row[iri_column].strip() for row in reader}
        return cls(codes, source=str(path))

    def __len__(self) -> int:
        return len(self._codes)

    def as_dict(self) -> dict[str, str]:
        """Normalised code -> IRI (a copy; the converter indexes it directly)."""
        return dict(self._codes)

    def translate(self, code: str) -> str:
        iri = self._codes.get(code)
        if iri is None:
            iri = self._codes.get(normalise_station_code(code))
        if iri is None:
            raise CodeError(
                f"station code {code!r} is not in the table ({self.source})",
                code="unknown_station_code",
            )
        return iri
