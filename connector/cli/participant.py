"""`tsunagu init` and `tsunagu serve`: create a participant's directory, run its connector."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from connector.cli.common import DIR, settings_of
from connector.cli.output import emit, summary
from connector.errors import ConnectorError
from connector.private_files import loose_permissions

if TYPE_CHECKING:
    from connector.settings import Settings


@click.command()
@click.argument("directory", type=DIR)
@click.option("--name", required=True, help="The participant's name, e.g. 'A市'.")
@click.option(
    "--port",
    required=True,
    type=click.IntRange(1, 65535),
    help="Port the connector will serve on.",
)
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
@click.option(
    "--tls",
    is_flag=True,
    help="Serve HTTPS with a self-signed development certificate made in DIR/tls/.",
)
def init(
    directory: Path,
    name: str,
    port: int,
    host: str,
    authorities: tuple[str, ...],
    dev: bool,
    database_url: str | None,
    tls: bool,
) -> None:
    """Create a participant in DIRECTORY: key pair, did:web DID, config and database."""
    import dataclasses

    from connector.participant import init_participant
    from connector.serving import port_in_use

    if port_in_use("127.0.0.1", port):
        raise click.BadParameter(
            f"port {port} is in use on this machine, and the DID names the port it serves "
            "on; choose a free one",
            param_hint="--port",
        )
    from connector.settings import write_settings
    from connector.tls import make_dev_certificate

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
    if tls:
        certificate, key = make_dev_certificate(settings.directory, host)
        settings = dataclasses.replace(
            settings, scheme="https", tls_certificate=certificate, tls_key=key
        )
        write_settings(settings)
    fields = [
        ("DID", settings.did),
        ("directory", str(settings.directory)),
        ("credential", f"put the authority's credential in {settings.credential_path}"),
    ]
    if tls:
        fields.append(("TLS", f"self-signed development certificate {settings.tls_certificate}"))
    emit(
        {
            "name": name,
            "did": settings.did,
            "directory": str(settings.directory),
            "port": settings.port,
            "credential_path": str(settings.credential_path),
            "tls_certificate": settings.tls_certificate,
        },
        lambda _p: summary(f"created participant {name}", fields),
    )


@click.command()
@click.argument("directory", type=DIR)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@click.option(
    "--port",
    type=int,
    default=None,
    help="Listen on this port instead of the configured one: one of several processes of the "
    "participant behind a reverse proxy, which keeps the configured address (docs/deployment.md).",
)
@click.option(
    "--log-format",
    default="text",
    show_default=True,
    type=click.Choice(["text", "json"]),
    help="json: one object a line, with the request's correlation id (docs/operations.md).",
)
def serve(directory: Path, log_level: str, port: int | None, log_format: str) -> None:
    """Run the participant's connector (DSP, management API at /management, OpenAPI at /docs).

    Refuses to start without a membership credential issued to this participant's DID (in
    --dev mode: warns), or when its port is taken; warns when private files are readable by
    others."""
    import logging
    import socket

    import uvicorn

    from connector import logs
    from connector.app import build_connector, create_app
    from connector.serving import GRACE_SECONDS, SERVER_LOOP, bind_listener
    from connector.tls import server_options

    logs.configure(getattr(logging, log_level.upper()), json_format=log_format == "json")

    settings = settings_of(directory)
    for loose in loose_permissions(settings):
        _warn(loose)
    problem = _credential_problem(settings)
    if problem is not None:
        if not settings.dev_mode:
            raise click.ClickException(problem)
        _warn(f"{problem} (dev mode: serving anyway; peers will refuse this participant)")
    listen = port or settings.port
    try:
        listener = bind_listener(settings.bind, listen)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {settings.bind}:{listen} ({exc.strerror}): is another "
            f"`tsunagu serve {directory}` running? Stop what holds the port, or create the "
            "participant on a free port (`tsunagu init DIR --port N`: the DID names the port)"
        ) from None
    try:
        # The runner is named after this process's place (host and port), so the process that
        # takes the place after a crash frees what its predecessor held at once.
        owner = f"{socket.gethostname()}:{listen}"
        tls = server_options(settings)
        app = create_app(build_connector(settings, runner_owner=owner))
    except ConnectorError as exc:
        listener.close()
        raise click.ClickException(exc.message) from None
    emit(
        {"name": settings.name, "did": settings.did, "serving": f"{settings.bind}:{listen}"},
        lambda r: click.echo(f"{r['name']} ({r['did']}) serving on {r['serving']}"),
    )
    config = uvicorn.Config(
        app,
        log_level=log_level,
        loop=SERVER_LOOP,
        timeout_graceful_shutdown=GRACE_SECONDS,
        log_config=None,  # uvicorn's lines go through our handler (and format) too
        access_log=False,  # tsunagu.http writes one with the route and correlation id
        **tls,
    )
    uvicorn.Server(config).run(sockets=[listener])


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def _credential_problem(settings: Settings) -> str | None:
    """Why this participant cannot prove its membership, or None when it can."""
    from connector.clock import system_clock
    from connector.identity.errors import IdentityError
    from connector.identity.own_credential import check_own_credential

    try:
        check_own_credential(
            settings.credential(),
            did=settings.did,
            trusted=tuple(settings.trusted_authorities),
            now=system_clock(),
        )
    except (ConnectorError, IdentityError) as exc:
        return exc.message
    return None
