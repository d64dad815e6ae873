"""The CLI's output rules: `--json` everywhere, secrets hidden unless asked, readable views."""

from __future__ import annotations

import json
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from connector.cli import main, views
from connector.cli.output import HIDDEN, emit, redact, show_token_option


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name)


def test_every_command_takes_json() -> None:
    paths = list(_commands(main))
    assert len(paths) > 20
    for path in paths:
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "--json" in result.output, path


def test_credentials_are_hidden_in_dsp_properties_and_plain_keys() -> None:
    record = {
        "id": "urn:uuid:1",
        "data_address": {
            "endpoint": "http://localhost:1/data/x",
            "endpointProperties": [
                {"name": "authorization", "value": "a.b.c"},
                {"name": "authType", "value": "bearer"},
                {"name": "refreshToken", "value": "r"},
            ],
        },
        "nested": [{"management_token": "m"}],
    }
    hidden = redact(record)
    props = {p["name"]: p["value"] for p in hidden["data_address"]["endpointProperties"]}
    assert props == {"authorization": HIDDEN, "authType": "bearer", "refreshToken": HIDDEN}
    assert hidden["nested"] == [{"management_token": HIDDEN}]
    assert "a.b.c" not in json.dumps(hidden)
    assert record["data_address"]["endpointProperties"][0]["value"] == "a.b.c"  # not mutated


def _probe() -> click.Command:
    @click.command()
    @show_token_option
    def probe() -> None:
        emit(
            {
                "id": "urn:uuid:t",
                "role": "consumer",
                "state": "STARTED",
                "agreement_id": "urn:uuid:a",
                "format": "HttpData-PULL",
                "counterparty": "did:web:p",
                "data_address": {
                    "endpoint": "http://localhost:1/d",
                    "endpointProperties": [{"name": "authorization", "value": "SECRET.JWT.X"}],
                },
            },
            views.transfer,
        )

    group = click.Group(commands={"probe": probe})
    from connector.cli.output import add_output_options

    add_output_options(group)
    return group


@pytest.mark.parametrize(
    ("args", "secret_shown"),
    [
        ([], False),
        (["--json"], False),
        (["--show-token"], True),
        (["--json", "--show-token"], True),
    ],
)
def test_token_only_with_show_token(args: list[str], secret_shown: bool) -> None:
    result = CliRunner().invoke(_probe(), ["probe", *args])
    assert result.exit_code == 0, result.output
    assert ("SECRET.JWT.X" in result.output) is secret_shown
    if "--json" in args:
        assert json.loads(result.output)["id"] == "urn:uuid:t"
    else:
        lines = result.output.splitlines()
        assert lines[0] == "transfer STARTED"
        assert lines[1].split() == ["process", "id", "urn:uuid:t"]
        assert "tsunagu fetch DIR urn:uuid:t" in result.output


def test_an_error_names_its_code_once() -> None:
    from connector.cli.common import run
    from connector.errors import ConnectorError

    for message in ("peer refused: not yours [credential_subject_mismatch]", "peer refused"):

        async def fail(message: str = message) -> None:
            raise ConnectorError(message, code="credential_subject_mismatch")

        with pytest.raises(click.ClickException) as caught:
            run(fail)
        assert caught.value.message.count("[credential_subject_mismatch]") == 1
        assert caught.value.message.startswith("peer refused")


def test_a_catalogue_shows_its_datasets_titles_as_dsp_sends_them() -> None:
    @click.command()
    def probe() -> None:
        emit(
            {
                "participantId": "did:web:p",
                "dataset": [
                    {"@id": "urn:d:1", "dct:title": "河川水位", "hasPolicy": [{"@id": "urn:o:1"}]},
                    {"@id": "urn:d:2", "title": [{"@value": "rain", "@language": "en"}]},
                ],
            },
            views.catalog,
        )

    result = CliRunner().invoke(probe)
    assert result.exit_code == 0, result.output
    _, header, first, second = result.output.splitlines()
    assert header.split()[:3] == ["dataset", "id", "title"]
    assert first.split() == ["urn:d:1", "河川水位", "urn:o:1"]
    assert second.split()[:2] == ["urn:d:2", "rain"]
