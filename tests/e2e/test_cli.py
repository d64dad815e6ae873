"""Two organisations set up with nothing but the `tsunagu` command: an authority, a provider and
a consumer, each its own process, negotiating and starting a transfer through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from connector.serving import free_port

TSUNAGU = str(Path(sys.executable).with_name("tsunagu"))
DATASET = "urn:tsunagu:dataset:202151:rainfall"


def tsunagu(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([TSUNAGU, *map(str, args)], capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(
            f"tsunagu {' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result


def wait_up(url: str, seconds: float = 60) -> None:
    """Poll until the connector process started by `serve` answers (or the deadline passes)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} never answered within {seconds:g} s")


def eventually(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"not so within {seconds:g} s")
        time.sleep(0.1)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    running: list[subprocess.Popen[str]] = []
    yield running
    for proc in running:
        proc.terminate()
    for proc in running:
        proc.wait(timeout=10)


def serve(running: list[subprocess.Popen[str]], *args: str | Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TSUNAGU_DATABASE_URL"}
    running.append(
        subprocess.Popen(
            [TSUNAGU, *map(str, args)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    )


def test_two_organisations_through_the_cli(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    authority, provider, consumer = tmp_path / "authority", tmp_path / "a", tmp_path / "c"
    tsunagu("authority", "init", authority, "--name", "basin council", "--port", free_port())
    authority_config = tomllib.loads((authority / "authority.toml").read_text())
    serve(processes, "authority", "serve", authority, "--dev")

    dids = {}
    for directory, name, code in ((provider, "A市", "202151"), (consumer, "C村", "204323")):
        out = tsunagu(
            "init",
            directory,
            "--name",
            name,
            "--port",
            free_port(),
            "--dev",
            "--trust",
            authority_config["did"],
        ).stdout
        assert "did:web:localhost" in out
        config = tomllib.loads((directory / "tsunagu.toml").read_text())
        dids[name] = config["participant"]["did"]
        tsunagu(
            "authority",
            "issue",
            authority,
            "--subject",
            dids[name],
            "--legal-name",
            name,
            "--role",
            "municipality",
            "--municipality-code",
            code,
            "--output",
            directory / "credential.jwt",
        )
        serve(processes, "serve", directory, "--log-level", "warning")
        wait_up(f"http://localhost:{config['participant']['port']}/.well-known/dspace-version")

    published = json.loads(
        tsunagu("dataset", "add", provider, "--id", DATASET, "--title", "A市 雨量", "--json").stdout
    )
    assert published["offers"][0]["policy"]["permission"] == [{"action": "use"}]

    catalog = json.loads(tsunagu("catalog", consumer, dids["A市"], "--json").stdout)
    assert [d["@id"] for d in catalog["dataset"]] == [DATASET]

    negotiation = json.loads(tsunagu("negotiate", consumer, dids["A市"], DATASET, "--json").stdout)
    assert negotiation["state"] == "FINALIZED" and negotiation["agreement_id"]

    transfer = json.loads(
        tsunagu("transfer", "start", consumer, negotiation["agreement_id"], "--json").stdout
    )
    assert transfer["state"] == "STARTED"
    assert transfer["data_address"]["endpoint"].startswith("http://localhost:")
    # No credential is printed unless asked for.
    token = {p["name"]: p["value"] for p in transfer["data_address"]["endpointProperties"]}
    assert token["authorization"].startswith("(hidden") and token["refreshToken"].startswith("(")
    shown = json.loads(
        tsunagu("transfer", "show", consumer, transfer["id"], "--json", "--show-token").stdout
    )
    props = {p["name"]: p["value"] for p in shown["data_address"]["endpointProperties"]}
    assert props["authorization"].count(".") == 2  # a JWT

    # People read a summary with the ids first, not JSON; the negotiation's agreement id leads.
    human = tsunagu("negotiations", "show", consumer, negotiation["id"]).stdout
    lines = human.splitlines()
    assert lines[0] == "negotiation FINALIZED"
    assert lines[1].split() == ["agreement", "id", negotiation["agreement_id"]]
    assert "PID" not in human and not human.lstrip().startswith("{")
    human = tsunagu("transfer", "show", consumer, transfer["id"]).stdout
    assert "process id" in human and props["authorization"] not in human

    # The provider books its last message delivered a moment after the consumer has it.
    eventually(lambda: "STARTED" in tsunagu("transfer", "list", provider).stdout)
    assert "provider" in tsunagu("transfer", "list", provider).stdout
    eventually(lambda: "FINALIZED" in tsunagu("negotiations", "list", provider).stdout)

    # A control command prints the state it led to, once the peer has been told.
    suspended = tsunagu("transfer", "suspend", consumer, transfer["id"]).stdout
    assert suspended.splitlines()[0] == "transfer SUSPENDED"
    resumed = json.loads(tsunagu("transfer", "resume", consumer, transfer["id"], "--json").stdout)
    assert resumed["state"] == "STARTED" and not resumed["pending"]


def test_cli_errors_are_one_line_and_not_tracebacks(tmp_path: Path) -> None:
    result = tsunagu("serve", tmp_path / "nowhere", check=False)
    assert result.returncode != 0
    assert "tsunagu init" in result.stderr and "Traceback" not in result.stderr
    tsunagu("init", tmp_path / "p", "--name", "P", "--port", "1", "--dev")
    result = tsunagu("catalog", tmp_path / "p", "did:web:localhost%3A2", check=False)
    assert result.returncode != 0
    assert "is `tsunagu serve` running?" in result.stderr and "Traceback" not in result.stderr
