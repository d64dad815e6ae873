"""SHACL shapes for readings and stations, with conforming and violating samples."""

from __future__ import annotations

import pytest

from vocab.shapes import ShapeViolation, validate_graph
from vocab.vocabulary import parse_turtle

PREFIXES = """
@prefix tsu: <https://w3id.org/tsunagu/vocab/> .
@prefix property: <https://w3id.org/tsunagu/vocab/property/> .
@prefix threshold: <https://w3id.org/tsunagu/vocab/threshold/> .
@prefix sosa: <http://www.w3.org/ns/sosa/> .
@prefix qudt: <http://qudt.org/schema/qudt/> .
@prefix unit: <http://qudt.org/vocab/unit/> .
@prefix ic: <http://imi.go.jp/ns/core/rdf#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <https://example.org/> .
"""

WATER_LEVEL = """
ex:r1 a sosa:Observation , tsu:WaterLevelObservation ;
    sosa:observedProperty property:water-level ;
    sosa:hasFeatureOfInterest ex:station ;
    sosa:resultTime "2024-09-01T09:10:00+09:00"^^xsd:dateTime ;
    sosa:hasResult [ a qudt:QuantityValue ; qudt:value 3.62e0 ; qudt:hasUnit unit:M ] ;
    tsu:localGovernmentCode "082902" .
"""

RAINFALL = """
ex:r2 a sosa:Observation , tsu:RainfallObservation ;
    sosa:observedProperty property:rainfall-1h ;
    sosa:hasFeatureOfInterest ex:station ;
    sosa:resultTime "2024-09-01T09:10:00+09:00"^^xsd:dateTime ;
    sosa:hasResult [ qudt:value 12.5e0 ; qudt:hasUnit unit:MilliM-PER-HR ] .
"""

STATION = """
ex:station a tsu:Station ;
    rdfs:label "上流橋"@ja , "Joryu Bridge"@en ;
    dct:identifier "0101" ;
    tsu:localGovernmentCode "082902" ;
    tsu:municipality <http://data.e-stat.go.jp/lod/sac/C08290> ;
    ic:地理座標 [ ic:緯度 "36.412300" ; ic:経度 "140.301200" ] ;
    tsu:hasThreshold
        [ tsu:thresholdKind threshold:standby ; qudt:value 2.0 ; qudt:hasUnit unit:M ] ,
        [ tsu:thresholdKind threshold:flood-caution ; qudt:value 2.8 ; qudt:hasUnit unit:M ] ,
        [ tsu:thresholdKind threshold:flood-danger ; qudt:value 3.9 ; qudt:hasUnit unit:M ] .
"""


def check(*parts: str) -> list[ShapeViolation]:
    return validate_graph(parse_turtle(PREFIXES + "".join(parts)))


def rules(violations: list[ShapeViolation]) -> set[tuple[str, str]]:
    return {(v.field, v.rule) for v in violations}


def test_the_samples_conform() -> None:
    assert check(WATER_LEVEL, RAINFALL, STATION) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("qudt:value 3.62e0", "qudt:value 362e0"), ("value", "shacl:MaxInclusive")),
        (("unit:M ]", "unit:CentiM ]"), ("unit", "shacl:HasValue")),
        (("property:water-level", "property:rainfall-1h"), ("observedProperty", "shacl:HasValue")),
        (('"2024-09-01T09:10:00+09:00"', '"2024-09-01T09:10:00"'), ("resultTime", "shacl:Pattern")),
        (("qudt:value 3.62e0", 'qudt:value "3.62"'), ("value", "shacl:Datatype")),
        (('"082902"', '"08290"'), ("localGovernmentCode", "shacl:Pattern")),
        (
            ("sosa:hasFeatureOfInterest ex:station ;", ""),
            ("hasFeatureOfInterest", "shacl:MinCount"),
        ),
    ],
)
def test_water_level_readings_that_break_a_rule(
    change: tuple[str, str], expected: tuple[str, str]
) -> None:
    broken = WATER_LEVEL.replace(*change)
    assert broken != WATER_LEVEL
    violations = check(broken)
    assert expected in rules(violations)
    assert all(v.focus == "https://example.org/r1" for v in violations)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("qudt:value 12.5e0", "qudt:value -1e0"), ("value", "shacl:MinInclusive")),
        (("unit:MilliM-PER-HR", "unit:MilliM"), ("", "shacl:Or")),
        (("property:rainfall-1h", "property:water-level"), ("", "shacl:Or")),
    ],
)
def test_rainfall_readings_that_break_a_rule(
    change: tuple[str, str], expected: tuple[str, str]
) -> None:
    violations = check(RAINFALL.replace(*change))
    assert expected in rules(violations)


def test_rainfall_amounts_are_millimetres() -> None:
    amount = RAINFALL.replace("property:rainfall-1h", "property:rainfall-10min").replace(
        "unit:MilliM-PER-HR", "unit:MilliM"
    )
    assert check(amount) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('rdfs:label "上流橋"@ja , ', "rdfs:label "), ("label", "shacl:QualifiedMinCount")),
        (
            ('"082902" ;\n    tsu:municipality', '"08290" ;\n    tsu:municipality'),
            ("localGovernmentCode", "shacl:Pattern"),
        ),
        (("C08290>", "X08290>"), ("municipality", "shacl:Pattern")),
        (('"36.412300"', '"north"'), ("latitude", "shacl:Pattern")),
        (("qudt:value 2.8", "qudt:value 1.5"), ("", "shacl:SPARQL")),
        (("threshold:flood-danger", "threshold:flood-caution"), ("", "shacl:SPARQL")),
        (("threshold:flood-danger", "threshold:flooding"), ("threshold", "shacl:Node")),
        (('dct:identifier "0101" ;', ""), ("identifier", "shacl:MinCount")),
    ],
)
def test_stations_that_break_a_rule(change: tuple[str, str], expected: tuple[str, str]) -> None:
    broken = STATION.replace(*change)
    assert broken != STATION
    assert expected in rules(check(broken))


def test_thresholds_out_of_order_name_both_levels() -> None:
    violations = check(STATION.replace("qudt:value 2.8", "qudt:value 1.5"))
    (violation,) = [v for v in violations if v.rule == "shacl:SPARQL"]
    assert "standby" in violation.message and "flood-caution" in violation.message
