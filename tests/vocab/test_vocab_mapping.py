"""Mapping files: what they may say, and the errors that name the key at fault."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vocab.errors import MappingError
from vocab.mapping import load_mapping, mapping_from_dict

STATION = "https://w3id.org/tsunagu/id/station/test/s1"


def base() -> dict[str, Any]:
    return {
        "source": {"format": "csv"},
        "time": {"field": "日時"},
        "station": {"field": "局", "codes": {"S1": STATION}},
        "observations": [{"property": "water-level", "field": "水位", "unit": "cm"}],
    }


def test_a_minimal_mapping(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(
        '[time]\nfield = "日時"\n[station]\nfield = "局"\n[station.codes]\nS1 = "' + STATION + '"\n'
        '[[observations]]\nproperty = "water-level"\nfield = "水位"\nunit = "cm"\n',
        encoding="utf-8",
    )
    mapping = load_mapping(path)
    assert mapping.format == "csv"
    assert mapping.era_strict  # dates outside their era are errors unless the mapping says so
    assert mapping.fields() == {"日時", "局", "水位"}
    (obs,) = mapping.observations
    assert obs.property.slug == "water-level" and obs.unit is not None and obs.unit.symbol == "cm"


def test_json_mappings_use_the_same_keys(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(base()), encoding="utf-8")
    assert load_mapping(path).observations[0].field == "水位"


def test_the_example_mappings_load(examples: Path) -> None:
    a_city = load_mapping(examples / "a-city.toml")
    assert [o.property.slug for o in a_city.observations] == ["water-level", "rainfall-1h"]
    assert any("local term" in note for note in a_city.notes)
    b_town = load_mapping(examples / "b-town.toml")
    assert b_town.format == "json" and b_town.records_path == ("observations",)
    assert b_town.municipality_code == "085901"


def change(path: str, value: object) -> dict[str, Any]:
    data = base()
    target: Any = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is None:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        ("sources", {}, "sources: unknown section"),
        ("source.fromat", "csv", "source.fromat: unknown key"),
        ("source.format", "xlsx", "source.format"),
        ("time", None, "time: missing [time] section"),
        ("time.era_boundary", "loose", "time.era_boundary"),
        ("time.timezone", "JST", "time.timezone"),
        ("station.codes", None, "station.codes"),
        ("observations", [], "observations"),
        ("observations.0.unit", "furlong", "observations[1].unit: unknown unit 'furlong'"),
        ("observations.0.unit", "mm/h", "observations[1].unit: cannot convert"),
        ("observations.0.property", "river-speed", "observations[1].property"),
        ("observations.0.unti", "cm", "observations[1].unti: unknown key"),
        ("observations.0.unit", None, "give exactly one of unit"),
        ("observations.0.missing", "欠測", "observations[1].missing"),
    ],
)
def test_mistakes_name_the_key(path: str, value: object, named: str) -> None:
    with pytest.raises(MappingError) as caught:
        mapping_from_dict(change(path, value))
    assert named in caught.value.message
    assert caught.value.code == "mapping_invalid"


def test_a_bad_municipality_constant_is_caught_at_load() -> None:
    data = base()
    data["municipality"] = {"value": "082903"}
    with pytest.raises(MappingError) as caught:
        mapping_from_dict(data)
    assert "check digit" in caught.value.message


def test_a_deprecated_or_local_property_is_resolved_and_noted(tmp_path: Path) -> None:
    local = tmp_path / "terms.ttl"
    local.write_text(
        "@prefix x: <https://town.example.jp/v/> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        'x:level a skos:Concept ; skos:prefLabel "水位"@ja ;\n'
        "  skos:exactMatch <https://w3id.org/tsunagu/vocab/property/water-level> .\n",
        encoding="utf-8",
    )
    data = change("observations.0.property", "x:level")
    data["source"]["extension"] = "terms.ttl"
    mapping = mapping_from_dict(data, base=tmp_path)
    assert mapping.observations[0].property.slug == "water-level"
    assert any("stands for" in note for note in mapping.notes)


def test_an_extension_whose_terms_map_nowhere_is_refused(tmp_path: Path) -> None:
    local = tmp_path / "terms.ttl"
    local.write_text(
        "@prefix x: <https://town.example.jp/v/> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        'x:level a skos:Concept ; skos:prefLabel "水位"@ja .\n',
        encoding="utf-8",
    )
    data = base()
    data["source"]["extension"] = "terms.ttl"
    with pytest.raises(MappingError) as caught:
        mapping_from_dict(data, base=tmp_path)
    assert "source.extension" in caught.value.message
    assert "unmapped_local_term" in caught.value.message


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(MappingError) as missing:
        load_mapping(tmp_path / "nope.toml")
    assert missing.value.code == "mapping_unreadable"
    broken = tmp_path / "broken.toml"
    broken.write_text("[time\nfield=", encoding="utf-8")
    with pytest.raises(MappingError) as malformed:
        load_mapping(broken)
    assert "not valid TOML" in malformed.value.message
