"""What the negotiation and transfer commands share about steps that wait for the operator:
acting on a process and then showing where it is afterwards."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from connector.cli import views
from connector.cli.common import client_for, run, wait_showing
from connector.cli.output import json_mode, print_json, say
from connector.errors import ConnectorError

if TYPE_CHECKING:
    from connector.api.client import ManagementClient

NEGOTIATION_STATES = ("REQUESTED", "OFFERED", "ACCEPTED", "AGREED", "VERIFIED", "FINALIZED")
TRANSFER_STATES = ("REQUESTED", "STARTED", "SUSPENDED", "COMPLETED")


def act_and_show(
    directory: Path,
    kind: str,
    path: str,
    body: dict[str, Any] | None,
    *,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """POST an operator's action, then print the process as it is after it: with `wait`, once
    the message it sends has been delivered (or the next step waits for the operator)."""
    states = NEGOTIATION_STATES if kind == "negotiations" else TRANSFER_STATES

    async def go() -> Any:
        async with client_for(directory) as client:
            record = await client.call("POST", path, json=body)
            if wait and record.get("pending"):
                record = await client.wait_for(
                    kind, record["id"], states, timeout=timeout, or_waiting=True
                )
            return record

    record = run(go)
    if as_json:
        print_json(record)
        return
    (views.negotiation if kind == "negotiations" else views.transfer)(record, directory=directory)
    if record.get("pending"):
        say(f"sending {record['pending']} to the peer")


async def wait_or_peer(
    client: ManagementClient,
    kind: str,
    pid: str,
    states: list[str],
    *,
    timeout: float,
    what: str,
) -> dict[str, Any]:
    """Wait (with a spinner on a terminal) until the process is in one of `states`, ends, or
    a step waits for our operator. When `timeout` passes while our message is delivered and
    the peer has not answered, the process is returned as it is: the peer may hold its step
    for its own operator, which is not an error (`peer_holds` says so)."""
    try:
        return await wait_showing(
            client, kind, pid, states, timeout=timeout, what=what, or_waiting=True
        )
    except ConnectorError as exc:
        if exc.code != "timeout":
            raise
        record: dict[str, Any] = await client.call("GET", f"/{kind}/{pid}")
        if record.get("pending") or record["state"] == "TERMINATED":
            raise  # our own message is not through: that is an error
        return record


def peer_holds(record: dict[str, Any], states: list[str]) -> bool:
    """Whether `record` waits for the peer: delivered, not ended, not where we waited for,
    and not waiting for our own operator."""
    return (
        record["state"] not in [*states, "TERMINATED"]
        and not record.get("pending")
        and not record.get("waiting")
    )


def policy_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise click.BadParameter(
            f"cannot read {path}: {exc.strerror}", param_hint="--policy"
        ) from None
    except ValueError as exc:
        raise click.BadParameter(f"{path} is not JSON: {exc}", param_hint="--policy") from None
    if not isinstance(data, dict):
        raise click.BadParameter(f"{path} must hold an ODRL policy object", param_hint="--policy")
    return data


def json_option(value: str, what: str) -> Any:
    try:
        return json.loads(value)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=what) from None


wait_option = click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Show the process once the message the action sends is delivered (or the next step"
    " waits for you); --no-wait shows it at once, the message still being sent.",
)
timeout_option = click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    help="Seconds to wait for the delivery before giving up (exit 1; the message is retried).",
)


def json_flag(command: Callable[..., Any]) -> Callable[..., Any]:
    """Hands the command `as_json`: whether `--json` (which every command has, from
    `output.add_output_options`) was given."""

    @functools.wraps(command)
    def with_mode(*args: Any, **kwargs: Any) -> Any:
        return command(*args, as_json=json_mode(), **kwargs)

    return with_mode
