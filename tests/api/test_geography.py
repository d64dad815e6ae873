"""geography.toml through the management API and `tsunagu policy geography show|set`: read
it, replace it (checked against the vocabulary first), and the decision point knows the new
basins at once; bad documents change nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner

from connector.api.client import ManagementError
from connector.cli.policy import policy_group
from connector.demo.localspace import LocalDataspace, Participant
from connector.store.audit_log import AuditQueries
from tests.dataplane.conftest import _collect_garbage, space

__all__ = ["_collect_garbage", "space"]

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "vocab"
BASIN = "https://w3id.org/tsunagu/id/basin/tsunagu-river"
SPATIAL = {"leftOperand": "spatial", "operator": "isPartOf", "rightOperand": {"@id": BASIN}}
IN_BASIN = {
    "@type": "Offer",
    "@id": "urn:offer:basin",
    "permission": [{"action": "use", "constraint": [SPATIAL]}],
}


def document(directory: Path, **changes: Any) -> dict[str, Any]:
    for name in ("a-city-stations.ttl", "b-town-stations.ttl"):
        shutil.copy(EXAMPLES / name, directory / name)
    body = {
        "stations": ["a-city-stations.ttl", "b-town-stations.ttl"],
        "basins": {"繋川": BASIN},
        "members": {BASIN: ["204323"]},  # C村: no gauge of its own
    }
    return {**body, **changes}


def replacements(participant: Participant) -> list[dict[str, Any]]:
    queries = AuditQueries(participant.connector.store)
    found = [json.loads(e.body) for e in queries.entries(0, queries.size())]
    return [e for e in found if e["kind"] == "geography.replaced"]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def decide(space: LocalDataspace, code: str) -> bool:
    ask = {"policy": IN_BASIN, "as": "did:web:c", "municipality_code": code}
    result = await space["provider"].client.call("POST", "/policies/explain", json=ask)
    return bool(result["allowed"])


async def test_replacing_the_geography_is_known_at_once(space: LocalDataspace) -> None:
    provider = space["provider"]
    directory = provider.settings.directory
    before = await provider.client.call("GET", "/policies/geography")
    assert before == {"document": None, "basins": []}
    assert not await decide(space, "204323")  # no basin known: undecidable, refused
    body = document(directory)
    replaced = await provider.client.call("PUT", "/policies/geography", json=body)
    (basin,) = replaced["basins"]
    assert basin["iri"] == BASIN and basin["river"] == "繋川"
    assert "20432" in basin["municipalities"] and "08590" in basin["municipalities"]
    assert len(basin["stations"]) >= 2
    assert replaced["document"]["members"] == {BASIN: ["20432"]}
    assert await decide(space, "204323")
    assert not await decide(space, "131016")  # Tokyo's Chiyoda: not in the basin
    on_disk = tomllib.loads((directory / "geography.toml").read_text())
    assert on_disk["basins"] == {"繋川": BASIN}
    assert await provider.client.call("GET", "/policies/geography") == replaced


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"basins": {"繋川": "https://example.org/basin/x"}}, "is not a basin IRI"),
        ({"members": {BASIN: ["204324"]}}, "members"),  # wrong check digit
        ({"members": {BASIN + "-other": ["204323"]}}, "no river"),
        ({"stations": ["missing.ttl"]}, "no file"),
        ({"basins": {"無い川": BASIN + "-none"}, "members": {}}, "no station of their river"),
        ({"rivers": {}}, "rivers"),  # refused by the request model itself
    ],
)
async def test_a_bad_geography_is_refused_and_changes_nothing(
    space: LocalDataspace, change: dict[str, Any], words: str
) -> None:
    provider = space["provider"]
    directory = provider.settings.directory
    good = await provider.client.call("PUT", "/policies/geography", json=document(directory))
    written = (directory / "geography.toml").read_bytes()
    with pytest.raises(ManagementError) as refused:
        await provider.client.call(
            "PUT", "/policies/geography", json={**document(directory), **change}
        )
    assert refused.value.code in ("invalid_geography", "invalid_request"), refused.value
    assert words in str(refused.value)
    assert (directory / "geography.toml").read_bytes() == written
    assert await provider.client.call("GET", "/policies/geography") == good
    assert await decide(space, "204323")


async def test_the_cli_shows_and_sets_the_geography(space: LocalDataspace, tmp_path: Path) -> None:
    directory = space["provider"].settings.directory
    source = tmp_path / "new-geography.toml"
    body = document(directory)
    source.write_text(
        "stations = [" + ", ".join(json.dumps(s) for s in body["stations"]) + "]\n"
        f'[basins]\n"繋川" = "{BASIN}"\n[members]\n"{BASIN}" = ["204323"]\n'
    )
    runner = CliRunner()

    def cli(*args: str) -> Any:
        return runner.invoke(policy_group, ["geography", *args], obj={})

    empty = await anyio.to_thread.run_sync(cli, "show", str(directory))
    assert empty.exit_code == 0, empty.output
    assert "no geography.toml" in empty.output
    done = await anyio.to_thread.run_sync(cli, "set", str(directory), str(source))
    assert done.exit_code == 0, done.output
    assert BASIN in done.output and "20432" in done.output
    assert await decide(space, "204323")
    source.write_text('[basins]\n"繋川" = "urn:not-a-basin"\n')
    bad = await anyio.to_thread.run_sync(cli, "set", str(directory), str(source))
    assert bad.exit_code != 0 and "invalid_geography" in bad.output
    shown = await anyio.to_thread.run_sync(cli, "show", str(directory))
    assert "20432" in shown.output


async def test_each_replacement_is_audited_with_both_digests(space: LocalDataspace) -> None:
    provider = space["provider"]
    directory = provider.settings.directory
    assert replacements(provider) == []
    await provider.client.call("PUT", "/policies/geography", json=document(directory))
    first = (directory / "geography.toml").read_bytes()
    (entry,) = replacements(provider)
    assert entry["subject"] == provider.did
    assert entry["details"]["digest"] == sha256(first)
    assert entry["details"]["previous"] is None  # there was no geography.toml before
    wider = document(directory, members={BASIN: ["204323", "131016"]})
    await provider.client.call("PUT", "/policies/geography", json=wider)
    second = (directory / "geography.toml").read_bytes()
    assert second != first
    latest = replacements(provider)[-1]["details"]
    assert (latest["previous"], latest["digest"]) == (sha256(first), sha256(second))
    with pytest.raises(ManagementError):  # refused: no entry, the file as it was
        await provider.client.call("PUT", "/policies/geography", json={"stations": ["x.ttl"]})
    assert len(replacements(provider)) == 2
    assert (directory / "geography.toml").read_bytes() == second


def alert_changes(participant: Participant) -> list[dict[str, Any]]:
    queries = AuditQueries(participant.connector.store)
    found = [json.loads(e.body) for e in queries.entries(0, queries.size())]
    return [e["details"] for e in found if e["kind"] == "alert.changed"]


async def test_each_change_of_the_alert_levels_is_audited(space: LocalDataspace) -> None:
    provider = space["provider"]
    directory = provider.settings.directory
    known = await provider.client.call("PUT", "/policies/geography", json=document(directory))
    station = sorted(known["basins"][0]["stations"])[0]
    assert alert_changes(provider) == []
    raised = {"area": station, "level": 3}
    done = await provider.client.call("PUT", "/alerts", json=raised)
    assert done["changed"] == {station: 3, BASIN: 3}  # the basin follows its station
    (entry,) = alert_changes(provider)
    assert entry["levels"] == {BASIN: 3, station: 3}
    assert entry["previous"] == {BASIN: 0, station: 0}
    assert entry["by"] == "operator"
    await provider.client.call("PUT", "/alerts", json=raised)  # no change: nothing to record
    assert len(alert_changes(provider)) == 1
    await provider.client.call("PUT", "/alerts", json={"area": station, "level": 0})
    assert alert_changes(provider)[-1]["previous"] == {BASIN: 3, station: 3}
    levels = await provider.client.call("GET", "/alerts")
    assert levels["levels"][BASIN] == 0
