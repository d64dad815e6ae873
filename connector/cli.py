"""The `tsunagu` command line."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import click

from connector.errors import ConnectorError

T = TypeVar("T")
DIR = click.Path(file_okay=False, path_type=Path)


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    try:
        return anyio.run(fn)
    except ConnectorError as exc:
        raise click.ClickException(f"{exc.message} [{exc.code}]") from None


def _settings(directory: Path) -> Any:
    from connector.settings import load_settings

    try:
        return load_settings(directory)
    except ConnectorError as exc:
        raise click.ClickException(exc.message) from None


def _client(directory: Path) -> Any:
    from connector.client import ManagementClient

    return ManagementClient.for_settings(_settings(directory))


def _print(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log protocol traffic and decisions.")
def main(verbose: bool) -> None:
    """tsunagu (つなぐ): a data-space connector speaking the Dataspace Protocol 2025-1.

    Typical start: `tsunagu demo` runs a whole river basin on this machine. For your own
    participant: `tsunagu init DIR ...`, get a membership credential from your dataspace
    authority into DIR/credential.jwt, then `tsunagu serve DIR`.
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.argument("directory", type=DIR)
@click.option("--name", required=True, help="The participant's name, e.g. 'A市'.")
@click.option("--port", required=True, type=int, help="Port the connector will serve on.")
@click.option(
    "--host",
    default="localhost",
    show_default=True,
    help="Public host name; the DID is did:web:<host>%3A<port>.",
)
@click.option(
    "--trust",
    "authorities",
    multiple=True,
    metavar="DID",
    help="A dataspace authority to trust (repeatable).",
)
@click.option(
    "--dev", is_flag=True, help="Development mode: plain HTTP and did:web over HTTP, loopback only."
)
@click.option("--database-url", help="PostgreSQL URL instead of the SQLite file in DIR.")
def init(
    directory: Path,
    name: str,
    port: int,
    host: str,
    authorities: tuple[str, ...],
    dev: bool,
    database_url: str | None,
) -> None:
    """Create a participant in DIRECTORY: key pair, did:web DID, config and database."""
    from connector.participant import init_participant

    try:
        settings = init_participant(
            directory,
            name=name,
            port=port,
            host=host,
            dev_mode=dev,
            trusted_authorities=authorities,
            database_url=database_url,
        )
    except ConnectorError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"created participant {name}\n  DID:        {settings.did}\n"
        f"  directory:  {settings.directory}"
    )
    click.echo(f"  credential: put the authority's credential in {settings.credential_path}")


@main.command()
@click.argument("directory", type=DIR)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def serve(directory: Path, log_level: str) -> None:
    """Run the participant's connector (DSP, management API at /management, OpenAPI at /docs)."""
    import uvicorn

    from connector.app import build_connector, create_app

    settings = _settings(directory)
    try:
        app = create_app(build_connector(settings))
    except ConnectorError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{settings.name} ({settings.did}) serving on {settings.bind}:{settings.port}")
    uvicorn.run(app, host=settings.bind, port=settings.port, log_level=log_level)


# -- publishing --------------------------------------------------------------------------------


@main.group()
def dataset() -> None:
    """Publish and list this participant's datasets (needs `tsunagu serve` running)."""


@dataset.command("add")
@click.argument("directory", type=DIR)
@click.option("--id", "dataset_id", required=True, help="Dataset id (an IRI or urn).")
@click.option("--title", required=True)
@click.option("--description", default="")
@click.option("--keyword", "keywords", multiple=True)
@click.option("--theme", "themes", multiple=True, help="Theme concept IRI (repeatable).")
@click.option(
    "--policy", "policy_file", type=click.File("r"), help="ODRL offer as JSON; default: permit use."
)
@click.option(
    "--requires-approval", is_flag=True, help="Park negotiations until an operator decides."
)
@click.option(
    "--data-address", default="{}", help="JSON describing the owner's backend (kept private)."
)
def dataset_add(
    directory: Path,
    dataset_id: str,
    title: str,
    description: str,
    keywords: tuple[str, ...],
    themes: tuple[str, ...],
    policy_file: Any,
    requires_approval: bool,
    data_address: str,
) -> None:
    """Publish a dataset with one offer."""
    policy = (
        json.load(policy_file)
        if policy_file
        else {"@type": "Offer", "permission": [{"action": "use"}]}
    )
    body = {
        "id": dataset_id,
        "title": title,
        "description": description,
        "keywords": list(keywords),
        "themes": list(themes),
        "data_address": json.loads(data_address),
        "offers": [{"policy": policy, "requires_approval": requires_approval}],
    }

    async def go() -> Any:
        async with _client(directory) as client:
            return await client.call("POST", "/datasets", json=body)

    _print(_run(go))


@dataset.command("list")
@click.argument("directory", type=DIR)
def dataset_list(directory: Path) -> None:
    """List the datasets this participant publishes."""

    async def go() -> Any:
        async with _client(directory) as client:
            return await client.call("GET", "/datasets")

    _print(_run(go))


# -- consuming ---------------------------------------------------------------------------------


@main.command()
@click.argument("directory", type=DIR)
@click.argument("provider")
@click.option(
    "--address", help="The provider's DSP base URL; found from its DID document when absent."
)
def catalog(directory: Path, provider: str, address: str | None) -> None:
    """Read PROVIDER's (a DID) catalogue as it lets this participant see it."""
    params = {"provider": provider} | ({"provider_address": address} if address else {})

    async def go() -> Any:
        async with _client(directory) as client:
            return await client.call("GET", "/catalog", params=params)

    _print(_run(go))


@main.command()
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
        async with _client(directory) as client:
            record = await client.call("POST", "/negotiations", json=body)
            if wait:
                record = await client.wait_for(
                    "negotiations", record["id"], ["FINALIZED"], timeout=timeout
                )
            return record

    record = _run(go)
    _print(record)
    if record["state"] == "TERMINATED":
        sys.exit(1)


@main.group()
def negotiations() -> None:
    """List, inspect and decide on negotiations (needs `tsunagu serve` running)."""


@negotiations.command("list")
@click.argument("directory", type=DIR)
@click.option("--state")
def negotiations_list(directory: Path, state: str | None) -> None:
    """List negotiations, newest first."""

    async def go() -> Any:
        async with _client(directory) as client:
            return await client.call(
                "GET", "/negotiations", params={"state": state} if state else {}
            )

    for n in _run(go):
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
        async with _client(directory) as client:
            return await client.call("GET", f"/negotiations/{pid}")

    _print(_run(go))


@negotiations.command("approve")
@click.argument("directory", type=DIR)
@click.argument("pid")
def negotiations_approve(directory: Path, pid: str) -> None:
    """Agree to a negotiation that waits for a decision."""

    async def go() -> Any:
        async with _client(directory) as client:
            return await client.call("POST", f"/negotiations/{pid}/approve")

    _print(_run(go))


@negotiations.command("terminate")
@click.argument("directory", type=DIR)
@click.argument("pid")
@click.option("--reason", default="terminated by the operator")
def negotiations_terminate(directory: Path, pid: str, reason: str) -> None:
    """End a negotiation."""

    async def go() -> Any:
        async with _client(directory) as client:
            return await client.call(
                "POST", f"/negotiations/{pid}/terminate", json={"reason": reason}
            )

    _print(_run(go))


@main.group()
def transfer() -> None:
    """Start, list and control transfers (needs `tsunagu serve` running)."""


@transfer.command("start")
@click.argument("directory", type=DIR)
@click.argument("agreement_id")
@click.option(
    "--format",
    "format_",
    default="HttpData-PULL",
    show_default=True,
    type=click.Choice(["HttpData-PULL", "HttpData-PUSH"]),
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
        async with _client(directory) as client:
            record = await client.call(
                "POST", "/transfers", json={"agreement_id": agreement_id, "format": format_}
            )
            if wait:
                record = await client.wait_for(
                    "transfers", record["id"], ["STARTED"], timeout=timeout
                )
            return record

    record = _run(go)
    _print(record)
    if record["state"] == "TERMINATED":
        sys.exit(1)


@transfer.command("list")
@click.argument("directory", type=DIR)
def transfer_list(directory: Path) -> None:
    """List transfers, newest first."""

    async def go() -> Any:
        async with _client(directory) as client:
            return await client.call("GET", "/transfers")

    for t in _run(go):
        click.echo(
            f"{t['id']}  {t['role']:<8} {t['state']:<10} {t['format']:<14} {t['agreement_id']}"
        )


def _transfer_action(action: str) -> Callable[..., None]:
    @click.argument("directory", type=DIR)
    @click.argument("pid")
    @click.option("--reason")
    def command(directory: Path, pid: str, reason: str | None) -> None:
        async def go() -> Any:
            async with _client(directory) as client:
                return await client.call(
                    "POST", f"/transfers/{pid}/{action}", json={"reason": reason}
                )

        _print(_run(go))

    command.__doc__ = f"{action.capitalize()} a transfer (either side)."
    return command


for _action in ("suspend", "resume", "complete", "terminate"):
    transfer.command(_action)(_transfer_action(_action))


@main.command()
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the participants in this directory.",
)
def demo(keep: Path | None) -> None:
    """Run a river basin on this machine: an authority, A市 and B町 upstream, C村 downstream.

    C村 reads A's and B's catalogues, negotiates for their water-level data and starts
    transfers, all over DSP on loopback. Exits 0 only if every step succeeded.
    """
    from connector.demo import run_demo

    ok = anyio.run(run_demo, keep)
    sys.exit(0 if ok else 1)


def _register_commands() -> None:
    """Command groups that live beside the modules they drive."""
    from connector.authority_cli import authority_group
    from connector.vocab_cli import convert_command, vocab_group

    main.add_command(authority_group)
    main.add_command(vocab_group)
    main.add_command(convert_command)
    from connector.fetch_cli import fetch_command  # the data plane's `tsunagu fetch`

    main.add_command(fetch_command)


_register_commands()
