"""The demo's owners write their own formats; C村 brings them into one model and classifies them.

No connectors here: the generated exports go straight into `basin_watch`, at a fixed time.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.demo import basin_watch
from connector.demo import sources as demo_sources
from connector.errors import ConnectorError
from vocab.stations import Station

NOW = datetime(2026, 4, 1, 0, 7, 30, tzinfo=UTC)  # 09:07:30 JST -> readings 07:10 .. 09:00


@pytest.fixture(scope="module")
def stations() -> Mapping[str, Station]:
    return basin_watch.basin_stations()


def test_a_city_writes_its_own_export(tmp_path: Path) -> None:
    source = demo_sources.a_city_export(tmp_path, NOW)
    rows = list(csv.DictReader(Path(source["path"]).read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 24 and source["type"] == "file"
    first, last = rows[0], rows[-1]
    assert (first["観測日"], first["観測時刻"]) == ("令和8年4月1日", "7時10分")
    assert (last["観測所番号"], last["観測時刻"], last["水位"]) == ("0102", "9時00分", "246")
    assert {r["団体コード"] for r in rows} == {"08290"}
    assert sum(r["水位"] == "欠測" for r in rows) == 1


def test_b_town_writes_its_own_json(tmp_path: Path) -> None:
    source = demo_sources.b_town_export(tmp_path, NOW)
    document = json.loads(Path(source["path"]).read_text(encoding="utf-8"))
    observations = document["observations"]
    assert len(observations) == 12
    assert observations[-1] == {
        "stationId": "B-01",
        "observedAt": "2026-04-01T09:00:00+09:00",
        "waterLevel": {"value": 4.18, "unit": "m"},
    }
    levels = [o["waterLevel"]["value"] for o in observations]
    assert levels == sorted(levels)  # the river rises


def test_centimetres_and_era_dates_arrive_as_metres_and_iso_times(
    stations: Mapping[str, Station],
) -> None:
    text = io.StringIO()
    csv.writer(text).writerows(demo_sources.a_city_rows(NOW))
    a = basin_watch.convert("a", text.getvalue(), stations)
    b_text = json.dumps({"observations": demo_sources.b_town_observations(NOW)})
    b = basin_watch.convert("b", b_text, stations)
    latest = [c.text() for c in basin_watch.latest_by_station(a) + basin_watch.latest_by_station(b)]
    assert latest == [
        "上流橋 2026-04-01T09:00:00+09:00 3.48 m: 避難判断水位 (警戒レベル3)",
        "中島 2026-04-01T09:00:00+09:00 2.46 m: 氾濫注意水位 (警戒レベル2)",
        "中流大橋 2026-04-01T09:00:00+09:00 4.18 m: 氾濫注意水位 (警戒レベル2)",
    ]
    assert a.records[0].result_time == b.records[0].result_time == "2026-04-01T07:10:00+09:00"
    assert (a.summary.converted, a.summary.warned, a.summary.rejected) == (23, 1, 0)
    assert (b.summary.converted, b.summary.warned, b.summary.rejected) == (12, 0, 0)
    lines = basin_watch.one_model({"A市": a, "B町": b})
    assert lines[0].startswith("35 water levels (23 from A市, 12 from B町), every one in unit:M")
    assert lines[1].endswith("避難判断水位 (警戒レベル3) -> 高齢者等避難")


def test_readings_not_in_one_model_are_refused(stations: Mapping[str, Station]) -> None:
    b_text = json.dumps({"observations": demo_sources.b_town_observations(NOW)})
    b = basin_watch.convert("b", b_text, stations)
    odd = b.records[0]._replace(result_time="2026-04-01T00:00:00Z")
    broken = type(b)([odd, *b.records[1:]], b.classifications, b.summary)
    with pytest.raises(ConnectorError) as caught:
        basin_watch.one_model({"B町": broken})
    assert caught.value.code == "not_one_model"


def test_missing_examples_are_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(basin_watch, "EXAMPLES", tmp_path / "nowhere")
    with pytest.raises(ConnectorError) as caught:
        basin_watch.basin_stations()
    assert caught.value.code == "demo_examples_missing"
    assert "a-city-stations.ttl" in caught.value.message
    assert "reinstall tsunagu" in caught.value.message
