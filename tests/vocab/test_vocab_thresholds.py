"""Classifying water levels on the river risk ladder."""

from __future__ import annotations

import pytest

from vocab.errors import VocabularyError
from vocab.records import Observation
from vocab.stations import Station
from vocab.thresholds import classify, classify_level, risk_ladder

T = "https://w3id.org/tsunagu/vocab/threshold/"
FOUR = {
    T + "standby": 2.0,
    T + "flood-caution": 2.8,
    T + "evacuation-decision": 3.4,
    T + "flood-danger": 3.9,
}


def test_the_ladder_comes_from_the_vocabulary() -> None:
    ladder = risk_ladder()
    assert [(s.rank, s.label_ja) for s in ladder] == [
        (1, "水防団待機水位"),
        (2, "氾濫注意水位"),
        (3, "避難判断水位"),
        (4, "氾濫危険水位"),
        (5, "氾濫発生"),
    ]
    assert [s.alert_level.level if s.alert_level else None for s in ladder] == [None, 2, 3, 4, 5]
    assert [s.bulletin.label_ja if s.bulletin else None for s in ladder] == [
        "水防警報（待機・準備）",
        "氾濫注意情報",
        "氾濫警戒情報",
        "氾濫危険情報",
        "氾濫発生情報",
    ]
    evacuation = [
        s.alert_level.evacuation.label_ja if s.alert_level and s.alert_level.evacuation else None
        for s in ladder
    ]
    assert evacuation == [None, None, "高齢者等避難", "避難指示", "緊急安全確保"]
    assert [s.is_state for s in ladder] == [False, False, False, False, True]


@pytest.mark.parametrize(
    ("level", "reached", "next_rank", "margin"),
    [
        (-0.5, None, 1, 2.5),
        (1.99, None, 1, 0.01),
        (2.0, 1, 2, 0.8),  # reaching a threshold counts
        (2.81, 2, 3, 0.59),
        (3.4, 3, 4, 0.5),
        (3.9, 4, None, None),
        (12.0, 4, None, None),  # no reading alone means flooding
    ],
)
def test_a_level_is_at_the_highest_threshold_it_reached(
    level: float, reached: int | None, next_rank: int | None, margin: float | None
) -> None:
    step, next_step, to_go = classify_level(level, FOUR)
    assert (step.rank if step else None) == reached
    assert (next_step.rank if next_step else None) == next_rank
    assert to_go == (pytest.approx(margin) if margin is not None else None)


def test_missing_thresholds_are_skipped() -> None:
    without_three = {k: v for k, v in FOUR.items() if "evacuation" not in k}
    step, next_step, _ = classify_level(3.5, without_three)
    assert step is not None and step.rank == 2
    assert next_step is not None and next_step.rank == 4
    assert classify_level(10.0, {}) == (None, None, None)


def test_flooding_is_reported_not_inferred() -> None:
    step, _, _ = classify_level(0.1, FOUR, flooding=True)
    assert step is not None and step.rank == 5 and step.label_ja == "氾濫発生"


def _reading(
    value: float, prop: str = "water-level", station: str = "https://e.org/s"
) -> Observation:
    return Observation(
        f"{station}/{prop}/20240901T091000",
        "https://w3id.org/tsunagu/vocab/WaterLevelObservation",
        f"https://w3id.org/tsunagu/vocab/property/{prop}",
        station,
        "2024-09-01T09:10:00+09:00",
        value,
        "http://qudt.org/vocab/unit/M",
        None,
        1,
    )


STATIONS = {
    "https://e.org/s": Station(
        "https://e.org/s", "01", "上流橋", "Joryu", "繋川", "082902", None, None, None, FOUR
    )
}


def test_classifying_a_reading_names_alert_and_bulletin() -> None:
    result = classify(_reading(3.46), STATIONS)
    assert result.level is not None and result.level.label_ja == "避難判断水位"
    assert result.alert_level is not None and result.alert_level.label_ja == "警戒レベル3"
    assert result.bulletin is not None and result.bulletin.label_ja == "氾濫警戒情報"
    assert result.text() == "上流橋 2024-09-01T09:10:00+09:00 3.46 m: 避難判断水位 (警戒レベル3)"
    calm = classify(_reading(1.2), STATIONS)
    assert calm.level is None and calm.text().endswith("平常 (below all thresholds)")


def test_only_water_levels_of_known_stations_classify() -> None:
    with pytest.raises(VocabularyError) as rain:
        classify(_reading(3.0, prop="rainfall-1h"), STATIONS)
    assert rain.value.code == "not_a_water_level"
    with pytest.raises(VocabularyError) as unknown:
        classify(_reading(3.0, station="https://e.org/other"), STATIONS)
    assert unknown.value.code == "unknown_station"
