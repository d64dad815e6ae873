"""What every command module shares: the participant directory argument, running async work
with connector errors shown as one line, the management client, and printing JSON."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import anyio
import click

from connector.errors import ConnectorError

if TYPE_CHECKING:
    from connector.api.client import ManagementClient
    from connector.settings import Settings

T = TypeVar("T")
DIR = click.Path(file_okay=False, path_type=Path)


class CommandFailed(click.ClickException):
    """The command could not run (exit status 2), as opposed to data with problems (1)."""

    exit_code = 2


def fail(error: Exception) -> NoReturn:
    raise CommandFailed(str(error)) from error


def run(fn: Callable[[], Awaitable[T]]) -> T:
    try:
        return anyio.run(fn)
    except ConnectorError as exc:
        raise click.ClickException(coded(exc)) from None


def coded(exc: ConnectorError) -> str:
    """The error's message with its code, once (a peer's refusal already names it)."""
    tag = f"[{exc.code}]"
    return exc.message if exc.message.endswith(tag) else f"{exc.message} {tag}"


def settings_of(directory: Path) -> Settings:
    from connector.settings import load_settings

    try:
        return load_settings(directory)
    except ConnectorError as exc:
        raise click.ClickException(exc.message) from None


def client_for(directory: Path) -> ManagementClient:
    from connector.api.client import ManagementClient

    return ManagementClient.for_settings(settings_of(directory))


def print_json(data: Any) -> None:
    """JSON with credentials hidden (`connector.cli.output.emit` is the usual way to print)."""
    from connector.cli.output import redact, showing_tokens

    click.echo(
        json.dumps(
            data if showing_tokens() else redact(data), ensure_ascii=False, indent=2, default=str
        )
    )


async def wait_showing(
    client: ManagementClient,
    kind: str,
    pid: str,
    states: list[str],
    *,
    timeout: float,
    what: str,
    or_waiting: bool = False,
) -> dict[str, Any]:
    """`client.wait_for`, with a spinner on a terminal naming the state it waits in."""
    from connector.cli.output import progress

    with progress(f"{what}: waiting", unit="wait") as meter:

        def update(record: dict[str, Any]) -> None:
            waiting = record["state"] in ("REQUESTED", "OFFERED") and not record.get("pending")
            hint = " (the peer is deciding; it may wait for its operator)" if waiting else ""
            meter.describe(f"{what}: {record['state']}{hint}")

        return await client.wait_for(
            kind,
            pid,
            states,
            timeout=timeout,
            or_waiting=or_waiting,
            on_update=update if meter.visible else None,
        )
