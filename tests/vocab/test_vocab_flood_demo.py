"""The demo's promise: A市 (和暦, cm) and B町 (ISO, m) readings reach C村 in one model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vocab.errors import VocabularyError
from vocab.flood import convert_and_classify
from vocab.records import Observation
from vocab.stations import load_stations

ISO_JST = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+09:00$")


def test_readings_from_a_and_b_arrive_in_one_model(examples: Path) -> None:
    stations = load_stations([examples / "a-city-stations.ttl", examples / "b-town-stations.ttl"])
    a = convert_and_classify(examples / "a-city-readings.csv", examples / "a-city.toml", stations)
    b = convert_and_classify(examples / "b-town-readings.json", examples / "b-town.toml", stations)
    a_levels = [r for r in a.records if r.observed_property.endswith("/water-level")]
    b_levels = [r for r in b.records if r.observed_property.endswith("/water-level")]
    assert len(a_levels) == 37 and len(b_levels) == 19
    # Same unit, same timestamp form, whatever the source wrote.
    assert {r.unit for r in a_levels + b_levels} == {"http://qudt.org/vocab/unit/M"}
    assert all(ISO_JST.match(r.result_time) for r in a.records + b.records)
    first_a = a_levels[0]
    assert (first_a.result_time, first_a.value) == ("2024-09-01T09:00:00+09:00", 1.95)  # 195 cm
    assert a_levels[0].result_time == b_levels[0].result_time
    rain = [r for r in a.records if r.observed_property.endswith("/rainfall-1h")]
    assert {r.unit for r in rain} == {"http://qudt.org/vocab/unit/MilliM-PER-HR"}
    assert {r.local_government_code for r in a.records} == {"082902"}
    assert {r.local_government_code for r in b.records} == {"085901"}
    # The telemeter drop-out is reported, not silently lost.
    assert a.summary.warned == 1 and a.summary.issues[0].rule == "missing_value"
    assert a.summary.rejected == b.summary.rejected == 0


def test_every_water_level_is_placed_on_its_stations_ladder(examples: Path) -> None:
    stations = [examples / "a-city-stations.ttl", examples / "b-town-stations.ttl"]
    a = convert_and_classify(examples / "a-city-readings.csv", examples / "a-city.toml", stations)
    b = convert_and_classify(examples / "b-town-readings.json", examples / "b-town.toml", stations)
    assert len(a.classifications) == 37 and len(b.classifications) == 19
    assert a.highest is not None and b.highest is not None
    assert a.highest.text() == "上流橋 2024-09-01T12:00:00+09:00 3.46 m: 避難判断水位 (警戒レベル3)"
    assert (
        b.highest.text() == "中流大橋 2024-09-01T12:00:00+09:00 4.31 m: 氾濫注意水位 (警戒レベル2)"
    )
    calm = a.classifications[0]
    assert calm.level is None and calm.next_level is not None
    assert calm.next_level.label_ja == "水防団待機水位" and calm.margin_m == pytest.approx(0.05)


def test_station_files_are_checked_before_use(tmp_path: Path, examples: Path) -> None:
    broken = tmp_path / "stations.ttl"
    text = (examples / "b-town-stations.ttl").read_text(encoding="utf-8")
    broken.write_text(text.replace("qudt:value 4.10", "qudt:value 2.10"), encoding="utf-8")
    with pytest.raises(VocabularyError) as caught:
        load_stations(broken)
    assert caught.value.code == "invalid_station"
    assert "thresholds must rise" in caught.value.message


def test_c_village_classifies_what_arrives_in_the_shared_model(examples: Path) -> None:
    """A市 converts at the source and sends JSON-LD and CSV; C村 reads them back and gets the
    same classifications as converting A市's raw file itself."""
    import io
    import json

    from vocab.contexts import parse_jsonld
    from vocab.records import (
        observations_from_csv,
        observations_from_graph,
        to_jsonld_document,
    )
    from vocab.thresholds import classify_observations
    from vocab.writers import CsvWriter

    stations = load_stations([examples / "a-city-stations.ttl", examples / "b-town-stations.ttl"])
    direct = convert_and_classify(
        examples / "a-city-readings.csv", examples / "a-city.toml", stations
    )
    wire = json.dumps(to_jsonld_document(direct.records), ensure_ascii=False)
    received = observations_from_graph(parse_jsonld(wire))
    csv_text = io.StringIO()
    CsvWriter(csv_text).write(direct.records)
    from_csv = observations_from_csv(io.StringIO(csv_text.getvalue()))

    def key(records: list[Observation]) -> list[tuple[str, float, str]]:
        return sorted((r.id, r.value, r.result_time) for r in records)

    assert key(received) == key(from_csv) == key(direct.records)
    expected = [c.text() for c in direct.classifications]
    assert sorted(c.text() for c in classify_observations(received, stations)) == sorted(expected)
