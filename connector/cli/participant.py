"""`tsunagu init` and `tsunagu serve`: create a participant's directory, run its connector."""

from __future__ import annotations

from pathlib import Path

import click

from connector.cli.common import DIR, settings_of
from connector.errors import ConnectorError


@click.command()
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


@click.command()
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

    settings = settings_of(directory)
    try:
        app = create_app(build_connector(settings))
    except ConnectorError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{settings.name} ({settings.did}) serving on {settings.bind}:{settings.port}")
    uvicorn.run(app, host=settings.bind, port=settings.port, log_level=log_level)
