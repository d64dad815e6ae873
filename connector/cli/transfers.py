"""`tsunagu transfer`: start, list and control transfers."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from connector.cli import views
from connector.cli.common import DIR, client_for, run
from connector.cli.holds import (
    act_and_show,
    json_flag,
    peer_holds,
    timeout_option,
    wait_option,
    wait_or_peer,
)
from connector.cli.output import emit, print_json, say, show_token_option
from connector.protocol.formats import FORMATS, PULL


@click.group()
def transfer() -> None:
    """Start, list and control transfers (needs `tsunagu serve` running)."""


@transfer.command("start")
@click.argument("directory", type=DIR)
@click.argument("agreement_id")
@click.option(
    "--format",
    "format_",
    default=PULL,
    show_default=True,
    type=click.Choice(FORMATS),
)
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait until STARTED or TERMINATED, at most --timeout seconds; a transfer the provider "
    "has not started by then is shown as REQUESTED, waiting for the provider (exit 0).",
)
@click.option("--timeout", default=60.0, show_default=True)
@show_token_option
def transfer_start(
    directory: Path, agreement_id: str, format_: str, wait: bool, timeout: float
) -> None:
    """Ask the provider of AGREEMENT_ID to start a transfer; prints its process id first.

    A provider may hold the start for its operator or until the agreement's time window
    opens: the transfer then stays REQUESTED, and this command says so and exits 0 once
    --timeout passes (exit 1 only if the request itself was not delivered, or the transfer
    was terminated). `tsunagu transfer show DIR ID` tells later whether it started."""

    async def go() -> Any:
        async with client_for(directory) as client:
            record = await client.call(
                "POST", "/transfers", json={"agreement_id": agreement_id, "format": format_}
            )
            if wait:
                record = await wait_or_peer(
                    client,
                    "transfers",
                    record["id"],
                    ["STARTED"],
                    timeout=timeout,
                    what=f"transfer {record['id']}",
                )
            return record

    record = run(go)
    emit(record, lambda r: views.transfer(r, directory=directory))
    if wait and peer_holds(record, ["STARTED"]):
        say(
            f"still waiting for the provider to start it after {timeout:g}s (its operator or"
            f" the agreement's time window may hold the start); `tsunagu transfer show"
            f" {directory} {record['id']}` tells later whether it started"
        )
    if record["state"] == "TERMINATED":
        sys.exit(1)


@transfer.command("list")
@click.argument("directory", type=DIR)
@click.option("--waiting", is_flag=True, help="Only those waiting for you, longest first.")
@json_flag
def transfer_list(directory: Path, waiting: bool, as_json: bool) -> None:
    """List transfers, newest first (with --waiting: what each waits for, since when)."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call(
                "GET", "/transfers", params={"waiting": "true"} if waiting else {}
            )

    records = run(go)
    if as_json:
        print_json(records)
        return
    none = "no transfer waits for you" if waiting else "no transfers yet"
    views.transfers(records, empty=none)


@transfer.command("approve")
@click.argument("directory", type=DIR)
@click.argument("pid")
@wait_option
@timeout_option
@json_flag
def transfer_approve(directory: Path, pid: str, wait: bool, timeout: float, as_json: bool) -> None:
    """Provider: start transfer PID, which waits for you (or for its time window), now.

    Sends the consumer the TransferStartMessage with a fresh data address; `tsunagu transfer
    list DIR --waiting` lists the transfers that wait."""
    act_and_show(
        directory,
        "transfers",
        f"/transfers/{pid}/approve",
        None,
        wait=wait,
        timeout=timeout,
        as_json=as_json,
    )


@transfer.command("show")
@click.argument("directory", type=DIR)
@click.argument("process_id", metavar="PROCESS_ID")
@show_token_option
def transfer_show(directory: Path, process_id: str) -> None:
    """One transfer: its state, what it waits for (and how to answer), and its history."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("GET", f"/transfers/{process_id}")

    def human(record: dict[str, Any]) -> None:
        views.transfer(record, directory=directory)
        views.history(record)

    emit(run(go), human)


def _transfer_action(action: str) -> Callable[..., None]:
    @click.argument("directory", type=DIR)
    @click.argument("pid", metavar="PROCESS_ID")
    @click.option("--reason")
    @wait_option
    @timeout_option
    @json_flag
    def command(
        directory: Path, pid: str, reason: str | None, wait: bool, timeout: float, as_json: bool
    ) -> None:
        act_and_show(
            directory,
            "transfers",
            f"/transfers/{pid}/{action}",
            {"reason": reason},
            wait=wait,
            timeout=timeout,
            as_json=as_json,
        )

    command.__doc__ = _ACTION_HELP[action]
    return command


_ACTION_HELP = {
    "suspend": """Suspend transfer PROCESS_ID (either side): sends a TransferSuspensionMessage;
    data requests stop until it is resumed. Shows the transfer afterwards.""",
    "resume": """Resume suspended transfer PROCESS_ID (either side): sends a
    TransferStartMessage (the provider's with a fresh data address). Shows the transfer
    afterwards.""",
    "complete": """Complete transfer PROCESS_ID (either side): sends a TransferCompletionMessage.
    Shows the transfer afterwards.""",
    "terminate": """End transfer PROCESS_ID, waiting or running (either side): sends the peer a
    TransferTerminationMessage with REASON; both sides end TERMINATED. A provider uses it
    to refuse a transfer that waits for its start. Shows the transfer afterwards.""",
}


for _action in ("suspend", "resume", "complete", "terminate"):
    transfer.command(_action)(_transfer_action(_action))
