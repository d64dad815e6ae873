"""Units of measure: field spellings to QUDT units, and conversion with QUDT's factors.

The table is read once from the vocabulary's Turtle (`data/units.ttl`) into plain objects.
QUDT's rule is ``SI value = (value + conversionOffset) * conversionMultiplier``.

Converters take the reading as written (a decimal string) and return the double nearest to the
exact result: "318.4" cm is 3.184 m, not 3.1839999999999997 as 318.4 / 100 in floating point
would give. Powers of ten move the decimal point (``float("318.4e-2")``); other ratios and
offsets are computed with exact fractions (°F -> °C is x * 5/9 - 160/9, so 32 °F is 0 °C).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from vocab.errors import UnitError
from vocab.namespaces import QUDT

Converter = Callable[[str], float]
"""Decimal text in the source unit -> value in the target unit; ValueError if not a number."""


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

    def __iter__(self) -> Iterator[Unit]:
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

    def convert(self, value: float | str, source: str, target: str) -> float:
        """Convert one value between two spellings or IRIs (convenience; not for bulk use).

        A float is taken as the decimal it prints as (318.4, not its binary expansion).
        """
        text = value if isinstance(value, str) else repr(value)
        return self.converter(self.lookup(source), self.lookup(target))(text)


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
    ratio = _simple_ratio(ratio)
    # target = (value + source offset) * source multiplier / target multiplier - target offset
    shift = source.offset * ratio - target.offset
    if shift == 0 and ratio == 1:
        return float
    exponent = _power_of_ten(ratio) if shift == 0 else None
    if exponent is not None:
        return _decimal_shift(ratio, f"e{exponent}")

    def exact(text: str) -> float:
        return float(_exact(text) * ratio + shift)

    return exact


def _decimal_shift(ratio: Fraction, suffix: str) -> Converter:
    """Scaling by a power of ten moves the decimal point: "318.4" cm is "318.4e-2" m."""

    def shifted(text: str) -> float:
        try:
            return float(text + suffix)
        except ValueError:  # an exponent of its own, trailing space, ...: do it exactly
            return float(_exact(text) * ratio)

    return shifted


def _exact(text: str) -> Fraction:
    """The exact value of a decimal numeral; ValueError for anything else (1/3, nan, inf)."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {text!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    return Fraction(number)


def _power_of_ten(ratio: Fraction) -> int | None:
    for value, sign in ((ratio.numerator, 1), (ratio.denominator, -1)):
        other = ratio.denominator if sign == 1 else ratio.numerator
        if other == 1:
            text = str(value)
            if text == "1" + "0" * (len(text) - 1):
                return sign * (len(text) - 1)
    return None


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
