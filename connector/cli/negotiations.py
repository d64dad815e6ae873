"""`tsunagu negotiate` and `tsunagu negotiations`: contracts, from asking to deciding."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from connector.cli import views
from connector.cli.common import DIR, client_for, run, wait_showing
from connector.cli.holds import (
    act_and_show,
    json_flag,
    json_option,
    policy_file,
    timeout_option,
    wait_option,
    waiting_text,
)
from connector.cli.output import emit, json_mode, print_json


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
@click.option(
    "--accept",
    "accept",
    multiple=True,
    metavar="RULE",
    help="An acceptance rule for this negotiation, as JSON (docs/holds.md), e.g. "
    '\'{"peers": ["did:web:..."], "no_payment": true}\'; repeatable.',
)
@click.option(
    "--verify",
    type=click.Choice(["auto", "hold"]),
    help="Verify the agreement at once, or wait for `tsunagu negotiations verify`.",
)
def negotiate(
    directory: Path,
    provider: str,
    dataset_id: str,
    offer_id: str | None,
    address: str | None,
    wait: bool,
    timeout: float,
    accept: tuple[str, ...],
    verify: str | None,
) -> None:
    """Negotiate a contract for PROVIDER's DATASET_ID; prints the negotiation (and agreement id).

    With --wait it returns at FINALIZED, at TERMINATED, or as soon as a step waits for you
    (a provider offer no rule accepts, an agreement held for verification)."""
    body = {
        "provider": provider,
        "dataset_id": dataset_id,
        "offer_id": offer_id,
        "provider_address": address,
        "accept": [json_option(rule, "--accept") for rule in accept],
        "verify": verify,
    }

    async def go() -> Any:
        async with client_for(directory) as client:
            record = await client.call("POST", "/negotiations", json=body)
            if wait:
                record = await wait_showing(
                    client,
                    "negotiations",
                    record["id"],
                    ["FINALIZED"],
                    timeout=timeout,
                    what=f"negotiation {record['id']}",
                    or_waiting=True,
                )
            return record

    record = run(go)
    emit(record, views.negotiation)
    if record.get("waiting") and not json_mode():
        click.echo(waiting_text(record), err=True)
    if record["state"] == "TERMINATED":
        sys.exit(1)


@click.group()
def negotiations() -> None:
    """List, inspect and decide on negotiations (needs `tsunagu serve` running)."""


@negotiations.command("list")
@click.argument("directory", type=DIR)
@click.option("--state")
@click.option("--waiting", is_flag=True, help="Only those waiting for you, longest first.")
@json_flag
def negotiations_list(directory: Path, state: str | None, waiting: bool, as_json: bool) -> None:
    """List negotiations, newest first (with --waiting: what each waits for, since when)."""
    params: dict[str, str] = {"state": state} if state else {}
    if waiting:
        params["waiting"] = "true"

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("GET", "/negotiations", params=params)

    records = run(go)
    if as_json:
        print_json(records)
        return
    none = "no negotiation waits for you" if waiting else "no negotiations yet"
    views.negotiations(records, waiting=waiting_text, empty=none)


@negotiations.command("show")
@click.argument("directory", type=DIR)
@click.argument("process_id", metavar="PROCESS_ID")
def negotiations_show(directory: Path, process_id: str) -> None:
    """One negotiation with its history."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("GET", f"/negotiations/{process_id}")

    emit(run(go), views.negotiation)


def _decide(name: str, doc: str) -> None:
    @negotiations.command(name)
    @click.argument("directory", type=DIR)
    @click.argument("pid")
    @wait_option
    @timeout_option
    @json_flag
    def command(directory: Path, pid: str, wait: bool, timeout: float, as_json: bool) -> None:
        path = f"/negotiations/{pid}/approve"
        act_and_show(
            directory, "negotiations", path, None, wait=wait, timeout=timeout, as_json=as_json
        )

    command.__doc__ = doc


_decide("approve", "Take the step that waits: agree, accept, verify or finalize (either role).")
_decide("accept", "Consumer: accept the provider's offer that waits for you.")
_decide("verify", "Consumer: verify the agreement that waits for you.")
_decide("finalize", "Provider: finalize the verified agreement that waits for you.")


@negotiations.command("counter")
@click.argument("directory", type=DIR)
@click.argument("pid")
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The terms to answer with: an ODRL Offer as JSON.",
)
@wait_option
@timeout_option
@json_flag
def negotiations_counter(
    directory: Path, pid: str, policy_path: Path, wait: bool, timeout: float, as_json: bool
) -> None:
    """Answer a waiting step with other terms: a provider's counter-offer to a request, or a
    consumer's counter-request to the provider's offer."""
    body = {"policy": policy_file(policy_path)}
    act_and_show(
        directory,
        "negotiations",
        f"/negotiations/{pid}/counter-offer",
        body,
        wait=wait,
        timeout=timeout,
        as_json=as_json,
    )


@negotiations.command("terminate")
@click.argument("directory", type=DIR)
@click.argument("pid", metavar="PROCESS_ID")
@click.option("--reason", default="terminated by the operator")
@wait_option
@timeout_option
@json_flag
def negotiations_terminate(
    directory: Path, pid: str, reason: str, wait: bool, timeout: float, as_json: bool
) -> None:
    """End a negotiation."""
    act_and_show(
        directory,
        "negotiations",
        f"/negotiations/{pid}/terminate",
        {"reason": reason},
        wait=wait,
        timeout=timeout,
        as_json=as_json,
    )
