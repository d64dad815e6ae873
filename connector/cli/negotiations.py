"""`tsunagu negotiate` and `tsunagu negotiations`: contracts, from asking to deciding."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from connector.cli import views
from connector.cli.common import DIR, client_for, run
from connector.cli.holds import (
    act_and_show,
    json_flag,
    json_option,
    peer_holds,
    policy_file,
    timeout_option,
    wait_option,
    wait_or_peer,
)
from connector.cli.output import emit, print_json, say


@click.command()
@click.argument("directory", type=DIR)
@click.argument("provider")
@click.argument("dataset_id")
@click.option("--offer", "offer_id", help="Offer id; the dataset's first offer when absent.")
@click.option(
    "--address", help="The provider's DSP base URL; found from its DID document when absent."
)
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait until FINALIZED, TERMINATED or a step waits for you, at most --timeout seconds;"
    " a negotiation the provider holds by then is shown as waiting for it (exit 0).",
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

    With --wait it returns at FINALIZED, at TERMINATED (exit 1), as soon as a step waits for
    you (a provider offer no rule accepts, an agreement held for verification), or after
    --timeout with the negotiation as it is when the provider holds its step for its operator
    (exit 0: see it later with `tsunagu negotiations show`)."""
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
                record = await wait_or_peer(
                    client,
                    "negotiations",
                    record["id"],
                    ["FINALIZED"],
                    timeout=timeout,
                    what=f"negotiation {record['id']}",
                )
            return record

    record = run(go)
    emit(record, lambda r: views.negotiation(r, directory=directory))
    if wait and peer_holds(record, ["FINALIZED"]):
        say(
            f"still waiting for the provider after {timeout:g}s; `tsunagu negotiations show"
            f" {directory} {record['id']}` tells later where it is"
        )
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
    views.negotiations(records, empty=none)


@negotiations.command("show")
@click.argument("directory", type=DIR)
@click.argument("process_id", metavar="PROCESS_ID")
def negotiations_show(directory: Path, process_id: str) -> None:
    """One negotiation: its state, what it waits for (and how to answer), and its history."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("GET", f"/negotiations/{process_id}")

    def human(record: dict[str, Any]) -> None:
        views.negotiation(record, directory=directory)
        views.history(record)

    emit(run(go), human)


@negotiations.command("offer")
@click.argument("directory", type=DIR)
@click.argument("consumer")
@click.argument("dataset_id")
@click.option("--offer", "offer_id", help="Which of the dataset's offers; its first when absent.")
@click.option(
    "--address", help="The consumer's DSP base URL; found from its DID document when absent."
)
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait until the consumer has the offer (OFFERED), has answered, or a step waits.",
)
@click.option("--timeout", default=30.0, show_default=True)
def negotiations_offer(
    directory: Path,
    consumer: str,
    dataset_id: str,
    offer_id: str | None,
    address: str | None,
    wait: bool,
    timeout: float,
) -> None:
    """Provider: offer CONSUMER (a DID) one of DATASET_ID's offers, opening a negotiation.

    The consumer's connector accepts it by itself only if one of its acceptance rules allows
    it; otherwise it waits there for its operator, and this side stays OFFERED."""

    async def go() -> Any:
        async with client_for(directory) as client:
            chosen = offer_id
            if chosen is None:
                dataset = await client.call("GET", "/datasets/" + quote(dataset_id, safe=":/@"))
                if not dataset["offers"]:
                    raise click.UsageError(f"dataset {dataset_id} has no offer to make")
                chosen = dataset["offers"][0]["id"]
            body = {
                "consumer": consumer,
                "consumer_address": address,
                "dataset_id": dataset_id,
                "offer_id": chosen,
            }
            record = await client.call("POST", "/negotiations/offers", json=body)
            if wait:
                record = await client.wait_for(
                    "negotiations",
                    record["id"],
                    ["OFFERED", "AGREED", "FINALIZED"],
                    timeout=timeout,
                    or_waiting=True,
                )
            return record

    record = run(go)
    emit(record, lambda r: views.negotiation(r, directory=directory))
    if record["state"] == "OFFERED" and not record.get("pending"):
        say("the consumer has the offer; it accepts by its own rules or its operator decides")
    if record["state"] == "TERMINATED":
        sys.exit(1)


def _decide(name: str, doc: str) -> None:
    # click reads the help when the command is made: give it here, not as __doc__ afterwards
    @negotiations.command(name, help=inspect.cleandoc(doc))
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


_decide(
    "approve",
    """Take the step PID waits for, whichever it is (either role).

    Provider: agree to a request (REQUESTED) or after the consumer's ACCEPTED, finalize a
    verified agreement (VERIFIED). Consumer: accept an offer (OFFERED), verify an agreement
    (AGREED). Either: send again a message the peer answered with 404. `accept`, `verify` and
    `finalize` are the same action, named for reading.""",
)
_decide(
    "accept",
    """Consumer: accept the provider's offer PID waits on (OFFERED): sends ACCEPTED.

    The provider then sends its agreement (or holds it for its own operator).""",
)
_decide(
    "verify",
    """Consumer: verify the agreement PID waits on (AGREED): sends the verification.

    The agreement binds once the provider finalizes it.""",
)
_decide(
    "finalize",
    """Provider: finalize the verified agreement PID waits on (VERIFIED): sends FINALIZED.

    Transfers can start under the agreement from then on.""",
)


@negotiations.command("counter")
@click.argument("directory", type=DIR)
@click.argument("pid")
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The terms to answer with: an ODRL Offer as JSON (an @id is made up if absent).",
)
@wait_option
@timeout_option
@json_flag
def negotiations_counter(
    directory: Path, pid: str, policy_path: Path, wait: bool, timeout: float, as_json: bool
) -> None:
    """Answer the step PID waits for with other terms (POLICY: an ODRL Offer as JSON).

    Provider, on a request (REQUESTED): sends a ContractOfferMessage; the consumer accepts it
    by its own rules or its operator decides. Consumer, on an offer (OFFERED): sends a
    ContractRequestMessage; the provider agrees if the terms are those of its last offer,
    otherwise its operator decides. Either side can counter again, until one approves or
    terminates."""
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
    """End negotiation PROCESS_ID, waiting or not (either role): sends the peer a
    ContractNegotiationTerminationMessage with REASON; both sides end TERMINATED.

    After a peer's 404 (it does not know the process) it ends here only."""
    act_and_show(
        directory,
        "negotiations",
        f"/negotiations/{pid}/terminate",
        {"reason": reason},
        wait=wait,
        timeout=timeout,
        as_json=as_json,
    )
