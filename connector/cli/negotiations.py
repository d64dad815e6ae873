"""`tsunagu negotiate` and `tsunagu negotiations`: contracts, from asking to deciding."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from connector.cli.common import DIR, client_for, print_json, run


@click.command()
@click.argument("directory", type=DIR)
@click.argument("provider")
@click.argument("dataset_id")
@click.option("--offer", "offer_id", help="Offer id; the dataset's first offer when absent.")
@click.option(
    "--address", help="The provider's DSP base URL; found from its DID document when absent."
)
@click.option(
    "--wait/--no-wait", default=True, show_default=True, help="Wait until FINALIZED or TERMINATED."
)
@click.option("--timeout", default=60.0, show_default=True)
def negotiate(
    directory: Path,
    provider: str,
    dataset_id: str,
    offer_id: str | None,
    address: str | None,
    wait: bool,
    timeout: float,
) -> None:
    """Negotiate a contract for PROVIDER's DATASET_ID; prints the negotiation (and agreement id)."""
    body = {
        "provider": provider,
        "dataset_id": dataset_id,
        "offer_id": offer_id,
        "provider_address": address,
    }

    async def go() -> Any:
        async with client_for(directory) as client:
            record = await client.call("POST", "/negotiations", json=body)
            if wait:
                record = await client.wait_for(
                    "negotiations", record["id"], ["FINALIZED"], timeout=timeout
                )
            return record

    record = run(go)
    print_json(record)
    if record["state"] == "TERMINATED":
        sys.exit(1)


@click.group()
def negotiations() -> None:
    """List, inspect and decide on negotiations (needs `tsunagu serve` running)."""


@negotiations.command("list")
@click.argument("directory", type=DIR)
@click.option("--state")
def negotiations_list(directory: Path, state: str | None) -> None:
    """List negotiations, newest first."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call(
                "GET", "/negotiations", params={"state": state} if state else {}
            )

    for n in run(go):
        flag = "  (awaiting your decision)" if n["awaiting_decision"] else ""
        click.echo(
            f"{n['id']}  {n['role']:<8} {n['state']:<10} {n['dataset_id']}  "
            f"{n['counterparty']}{flag}"
        )


@negotiations.command("show")
@click.argument("directory", type=DIR)
@click.argument("pid")
def negotiations_show(directory: Path, pid: str) -> None:
    """One negotiation with its history."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("GET", f"/negotiations/{pid}")

    print_json(run(go))


@negotiations.command("approve")
@click.argument("directory", type=DIR)
@click.argument("pid")
def negotiations_approve(directory: Path, pid: str) -> None:
    """Agree to a negotiation that waits for a decision."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("POST", f"/negotiations/{pid}/approve")

    print_json(run(go))


@negotiations.command("terminate")
@click.argument("directory", type=DIR)
@click.argument("pid")
@click.option("--reason", default="terminated by the operator")
def negotiations_terminate(directory: Path, pid: str, reason: str) -> None:
    """End a negotiation."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call(
                "POST", f"/negotiations/{pid}/terminate", json={"reason": reason}
            )

    print_json(run(go))
