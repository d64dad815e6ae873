"""The README's main job: `tsunagu demo` succeeds and says what it did.

Issue 4's promise, read off the demo's output: A市's readings (和暦, centimetres) and B町's
(ISO 8601, metres) arrive at C村 in one model, with the same unit and time form, classified
against the stations' thresholds.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from click.testing import CliRunner

from connector.cli import main
from connector.demo import sources as demo_sources

ISO_JST = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\+09:00"


@pytest.fixture(autouse=True)
def _embedded_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TSUNAGU_DATABASE_URL", raising=False)  # the demo runs on SQLite


def _demo() -> str:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "TSUNAGU_DATABASE_URL" not in os.environ
    return result.output


def _converted(out: str, station: str) -> tuple[str, float, str]:
    """(time, metres, classification) of a station's latest reading as C村 printed it."""
    match = re.search(rf"^ +{station} ({ISO_JST}) (\d+(?:\.\d+)?) m: (.+)$", out, re.MULTILINE)
    assert match, f"no converted reading of {station} in:\n{out}"
    return match[1], float(match[2]), match[3]


def _assert_basin_story(out: str) -> None:
    for name in ("A市", "B町", "C村"):
        assert name in out
    assert out.count("negotiates 'disaster response by basin municipalities'") == 2
    assert out.count("starts a pull transfer") == 2
    assert "failed" not in out and "every step succeeded" in out
    # What the owners sent: A市 its own CSV (和暦, centimetres), B町 its own JSON (metres).
    a_sent = re.findall(
        r"as sent: (0101|0102),令和\d+年\d+月\d+日,\d+時\d\d分,(\d+),\d+,08290", out
    )
    assert {code for code, _ in a_sent} == {"0101", "0102"}
    assert re.search(r'as sent: \{"stationId": "B-01", "observedAt": "' + ISO_JST, out)
    # What C村 made of it: one model, metres and +09:00, on the stations' ladders.
    joryu, nakajima, churyu = (_converted(out, s) for s in ("上流橋", "中島", "中流大橋"))
    assert joryu[0] == nakajima[0] == churyu[0]  # the same moment, written the same way
    centimetres = dict(a_sent)
    assert joryu[1] == int(centimetres["0101"]) / 100  # 348 cm as sent -> 3.48 m
    assert nakajima[1] == int(centimetres["0102"]) / 100
    assert joryu[2] == "避難判断水位 (警戒レベル3)"
    assert nakajima[2] == churyu[2] == "氾濫注意水位 (警戒レベル2)"
    summaries = re.findall(r"(\d+) rows: (\d+) converted, (\d+) warned, (\d+) rejected", out)
    assert summaries == [("24", "23", "1", "0"), ("12", "12", "0", "0")]
    assert "水位='欠測'" in out  # A市's telemeter drop-out is reported, not lost
    assert re.search(r"35 water levels .*unit:M \(metres\); all 59 readings timed ISO 8601", out)
    assert "highest in the basin: 上流橋" in out and "-> 高齢者等避難" in out


def test_demo_brings_a_and_b_into_one_model_over_the_live_feed() -> None:
    """B町's gauge on the real Mosquitto at 127.0.0.1:1883, as the data-plane live tests use."""
    out = _demo()
    assert "from its live gauge (MQTT JSON, ISO 8601, m)" in out, out
    _assert_basin_story(out)


def test_demo_without_a_broker_reads_b_towns_json_export(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def no_broker() -> bool:
        return False

    monkeypatch.setattr(demo_sources, "mqtt_available", no_broker)
    out = _demo()
    assert "from its API's JSON export (ISO 8601, m)" in out, out
    _assert_basin_story(out)


def test_demo_with_json_tells_its_outcome_on_stdout_and_its_story_on_stderr() -> None:
    result = CliRunner().invoke(main, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"ok": True, "interrupted": False, "kept": None}
    assert "every step succeeded" in result.stderr
