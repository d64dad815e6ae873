"""What the negotiation and transfer commands share about steps that wait for the operator:
one line per process, and acting on a process and then showing where it is afterwards."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from connector.cli import views
from connector.cli.common import client_for, run
from connector.cli.output import json_mode, print_json, say

NEGOTIATION_STATES = ("REQUESTED", "OFFERED", "ACCEPTED", "AGREED", "VERIFIED", "FINALIZED")
TRANSFER_STATES = ("REQUESTED", "STARTED", "SUSPENDED", "COMPLETED")


def waiting_text(record: dict[str, Any]) -> str:
    """`waiting since <when> for <what>` and why, or ''."""
    waiting = record.get("waiting")
    if not waiting:
        return ""
    why = waiting.get("detail", {}).get("reason") or waiting.get("detail", {}).get("error")
    opens = waiting.get("detail", {}).get("window_opens")
    text = f"waiting since {waiting['since']} for {waiting['description']}"
    if opens:
        text += f" (starts by itself at {opens})"
    return text + (f": {why}" if why else "")


def negotiation_line(n: dict[str, Any]) -> str:
    line = f"{n['id']}  {n['role']:<8} {n['state']:<10} {n['dataset_id']}  {n['counterparty']}"
    if n.get("agreement_id"):
        line += f"  agreement {n['agreement_id']}"
    waiting = waiting_text(n)
    return line + (f"\n    {waiting}" if waiting else "")


def transfer_line(t: dict[str, Any]) -> str:
    line = f"{t['id']}  {t['role']:<8} {t['state']:<10} {t['format']:<14} {t['agreement_id']}"
    waiting = waiting_text(t)
    return line + (f"\n    {waiting}" if waiting else "")


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
    (views.negotiation if kind == "negotiations" else views.transfer)(record)
    if record.get("pending"):
        say(f"sending {record['pending']} to the peer")
    waiting = waiting_text(record)
    if waiting:
        say(waiting)


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
    help="Show the process once the message the action sends is delivered.",
)
timeout_option = click.option("--timeout", default=30.0, show_default=True)


def json_flag(command: Callable[..., Any]) -> Callable[..., Any]:
    """Hands the command `as_json`: whether `--json` (which every command has, from
    `output.add_output_options`) was given."""

    @functools.wraps(command)
    def with_mode(*args: Any, **kwargs: Any) -> Any:
        return command(*args, as_json=json_mode(), **kwargs)

    return with_mode
