"""`tsunagu agreements`: the contracts this participant is party to, and revoking one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from connector.cli.common import DIR, client_for, print_json, run
from connector.cli.holds import json_flag
from connector.cli.output import LABELS, table


@click.group()
def agreements() -> None:
    """List agreements and revoke them (needs `tsunagu serve` running)."""


@agreements.command("list")
@click.argument("directory", type=DIR)
@json_flag
def agreements_list(directory: Path, as_json: bool) -> None:
    """Agreements, newest first."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("GET", "/agreements")

    records = run(go)
    if as_json:
        print_json(records)
        return
    table(
        records,
        [
            ("id", LABELS["agreement_id"]),
            ("dataset_id", LABELS["dataset_id"]),
            ("provider_did", "provider"),
            ("consumer_did", "consumer"),
            ("signed_at", "signed"),
        ],
        empty="no agreements yet",
    )


@agreements.command("revoke")
@click.argument("directory", type=DIR)
@click.argument("agreement_id")
@click.option("--reason", default="revoked by the provider's operator", show_default=True)
@json_flag
def agreements_revoke(directory: Path, agreement_id: str, reason: str, as_json: bool) -> None:
    """Provider: refuse all further data under AGREEMENT_ID and terminate its transfers."""

    async def go() -> Any:
        async with client_for(directory) as client:
            result = await client.call(
                "POST", f"/agreements/{agreement_id}/revoke", json={"reason": reason}
            )
            ended = [
                await client.wait_for("transfers", pid, ["TERMINATED"])
                for pid in result["terminated_transfers"]
            ]
            return result, ended

    result, ended = run(go)
    if as_json:
        print_json({**result, "transfers": ended})
        return
    click.echo(f"agreement {agreement_id} revoked: {reason}")
    for t in ended:
        click.echo(f"  transfer {t['id']}  {t['state']}")
    if not ended:
        click.echo("  no transfer was running under it")
