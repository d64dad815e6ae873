"""Units of measure: field spellings to QUDT units, and conversion with QUDT's factors.

The table is read once from the vocabulary's Turtle (`data/units.ttl`) into plain objects, so
converting a value costs one multiplication or division. QUDT's rule is
``SI value = (value + conversionOffset) * conversionMultiplier``.

Factors are kept as exact fractions: a ratio such as cm -> m (1/100) becomes a division by 100,
which gives the same float as the decimal the reader expects (362 cm -> 3.62 m, not
3.6200000000000001).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from vocab.errors import UnitError
from vocab.namespaces import QUDT

Converter = Callable[[float], float]


@dataclass(frozen=True, slots=True)
class Unit:
    iri: str
    symbol: str
    label_en: str
    label_ja: str
    multiplier: Fraction
    offset: Fraction
    dimension: str
    """QUDT dimension vector, e.g. ``A0E0L1I0M0H0T0D0`` for a length."""
    ucum: str | None
    unece: str | None
    spellings: frozenset[str]

    @property
    def exponents(self) -> dict[str, int]:
        return {base: int(power) for base, power in _EXPONENT.findall(self.dimension)}


_EXPONENT = re.compile(r"([AELIMHTD])(-?\d+)")
_DROPPED = re.compile(r"[\s^·*]+")


def normalise_spelling(text: str) -> str:
    """Fold a unit as written in the field: NFKC (㎝ -> cm, ｍ³ -> m3, ℃ -> °c), lower case,
    no spaces."""
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    return _DROPPED.sub("", folded)


class UnitTable:
    """The units the shared model knows, looked up by IRI or by any field spelling."""

    def __init__(self, units: Iterable[Unit]) -> None:
        self._by_iri: dict[str, Unit] = {}
        self._by_spelling: dict[str, Unit] = {}
        for unit in units:
            self._by_iri[unit.iri] = unit
            for spelling in (unit.symbol, unit.ucum, *unit.spellings):
                if spelling:
                    key = normalise_spelling(spelling)
                    other = self._by_spelling.get(key)
                    if other is not None and other is not unit:
                        raise UnitError(
                            f"spelling {spelling!r} names both {other.iri} and {unit.iri}",
                            code="ambiguous_unit",
                        )
                    self._by_spelling[key] = unit
        self._converters: dict[tuple[str, str, Fraction | None], Converter] = {}

    @classmethod
    def from_graph(cls, graph: Graph) -> UnitTable:
        units = []
        for subject in graph.subjects(RDF.type, QUDT.Unit):
            if not isinstance(subject, URIRef):
                continue
            multiplier = graph.value(subject, QUDT.conversionMultiplier)
            dimension = graph.value(subject, QUDT.hasDimensionVector)
            if multiplier is None or dimension is None:
                raise UnitError(
                    f"{subject} lacks a multiplier or dimension", code="unit_incomplete"
                )
            offset = graph.value(subject, QUDT.conversionOffset)
            units.append(
                Unit(
                    iri=str(subject),
                    symbol=str(graph.value(subject, QUDT.symbol) or ""),
                    label_en=_label(graph, subject, "en"),
                    label_ja=_label(graph, subject, "ja"),
                    multiplier=_fraction(multiplier),
                    offset=_fraction(offset) if offset is not None else Fraction(0),
                    dimension=str(dimension).rsplit("/", 1)[-1],
                    ucum=_optional(graph.value(subject, QUDT.ucumCode)),
                    unece=_optional(graph.value(subject, QUDT.uneceCommonCode)),
                    spellings=frozenset(str(s) for s in graph.objects(subject, SKOS.hiddenLabel)),
                )
            )
        return cls(units)

    def __iter__(self) -> Iterable[Unit]:
        return iter(self._by_iri.values())

    def __len__(self) -> int:
        return len(self._by_iri)

    def get(self, iri: str) -> Unit:
        try:
            return self._by_iri[iri]
        except KeyError:
            raise UnitError(f"{iri} is not a unit of the shared vocabulary") from None

    def lookup(self, spelling: str) -> Unit:
        """The unit a field spelling or IRI names; an unknown unit is an error, never dropped."""
        unit = self._by_spelling.get(normalise_spelling(spelling)) or self._by_iri.get(spelling)
        if unit is None:
            raise UnitError(f"unknown unit {spelling!r}", code="unknown_unit")
        return unit

    def converter(
        self, source: Unit, target: Unit, *, period_seconds: Fraction | None = None
    ) -> Converter:
        """A function converting values in `source` to `target`.

        An amount and a rate over a period convert into each other when `period_seconds` is
        given (10 mm in an hour is 10 mm/h); otherwise the dimensions must be equal.
        """
        key = (source.iri, target.iri, period_seconds)
        cached = self._converters.get(key)
        if cached is None:
            cached = _build_converter(source, target, period_seconds)
            self._converters[key] = cached
        return cached

    def convert(self, value: float, source: str, target: str) -> float:
        """Convert one value between two spellings or IRIs (convenience; not for bulk use)."""
        return self.converter(self.lookup(source), self.lookup(target))(value)


def _build_converter(source: Unit, target: Unit, period: Fraction | None) -> Converter:
    ratio = source.multiplier / target.multiplier
    if source.dimension != target.dimension:
        step = _period_step(source, target)
        if step == 0 or period is None:
            raise UnitError(
                f"cannot convert {source.symbol} ({source.dimension}) "
                f"to {target.symbol} ({target.dimension})",
                code="incompatible_unit",
            )
        ratio = ratio / period if step > 0 else ratio * period
    if source.offset or target.offset:
        scale = float(ratio)
        src_offset = float(source.offset)
        dst_offset = float(target.offset)

        def affine(value: float) -> float:
            # Offsets make float noise visible (32 °F -> 5.7e-14 °C); ten decimals is far
            # beyond any sensor's resolution. Adding 0.0 turns -0.0 into 0.0.
            return round((value + src_offset) * scale - dst_offset, 10) + 0.0

        return affine
    exact = _simple_ratio(ratio)
    numerator, denominator = float(exact.numerator), float(exact.denominator)
    if exact == 1:
        return float
    if exact.numerator == 1:
        return lambda value: value / denominator
    if exact.denominator == 1:
        return lambda value: value * numerator
    return lambda value: value * numerator / denominator


def _period_step(source: Unit, target: Unit) -> int:
    """+1 when source is an amount of target's rate, -1 for the reverse, 0 otherwise."""
    src, dst = source.exponents, target.exponents
    if any(src.get(k, 0) != dst.get(k, 0) for k in "AELIMHD"):
        return 0
    difference = src.get("T", 0) - dst.get("T", 0)
    return difference if difference in (1, -1) else 0


def _simple_ratio(ratio: Fraction) -> Fraction:
    """QUDT writes 1/3600 as 0.000277...778; recover the small fraction it stands for."""
    simple = ratio.limit_denominator(1_000_000)
    if simple and abs((simple - ratio) / ratio) < Fraction(1, 10**12):
        return simple
    return ratio


def _fraction(value: object) -> Fraction:
    python = value.toPython() if isinstance(value, Literal) else value
    if isinstance(python, Decimal | int | float):
        return Fraction(python)
    return Fraction(str(python))


def _label(graph: Graph, subject: URIRef, language: str) -> str:
    for label in graph.objects(subject, RDFS.label):
        if isinstance(label, Literal) and label.language == language:
            return str(label)
    return ""


def _optional(value: object) -> str | None:
    return None if value is None else str(value)
