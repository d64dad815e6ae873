"""`tsunagu transfer`: start, list and control transfers."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from connector.cli.common import DIR, client_for, print_json, run
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
    "--wait/--no-wait", default=True, show_default=True, help="Wait until STARTED or TERMINATED."
)
@click.option("--timeout", default=60.0, show_default=True)
def transfer_start(
    directory: Path, agreement_id: str, format_: str, wait: bool, timeout: float
) -> None:
    """Ask the provider of AGREEMENT_ID to start a transfer."""

    async def go() -> Any:
        async with client_for(directory) as client:
            record = await client.call(
                "POST", "/transfers", json={"agreement_id": agreement_id, "format": format_}
            )
            if wait:
                record = await client.wait_for(
                    "transfers", record["id"], ["STARTED"], timeout=timeout
                )
            return record

    record = run(go)
    print_json(record)
    if record["state"] == "TERMINATED":
        sys.exit(1)


@transfer.command("list")
@click.argument("directory", type=DIR)
def transfer_list(directory: Path) -> None:
    """List transfers, newest first."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("GET", "/transfers")

    for t in run(go):
        click.echo(
            f"{t['id']}  {t['role']:<8} {t['state']:<10} {t['format']:<14} {t['agreement_id']}"
        )


def _transfer_action(action: str) -> Callable[..., None]:
    @click.argument("directory", type=DIR)
    @click.argument("pid")
    @click.option("--reason")
    def command(directory: Path, pid: str, reason: str | None) -> None:
        async def go() -> Any:
            async with client_for(directory) as client:
                return await client.call(
                    "POST", f"/transfers/{pid}/{action}", json={"reason": reason}
                )

        print_json(run(go))

    command.__doc__ = f"{action.capitalize()} a transfer (either side)."
    return command


for _action in ("suspend", "resume", "complete", "terminate"):
    transfer.command(_action)(_transfer_action(_action))
