"""`tsunagu keys list|rotate DIR`: the participant's signing keys (README: key rotation)."""

from __future__ import annotations

from pathlib import Path

import click

from connector.cli.common import DIR, settings_of
from connector.cli.output import emit, say, table
from connector.errors import ConnectorError


@click.group("keys")
def keys_group() -> None:
    """The participant's DID signing keys."""


@keys_group.command("list")
@click.argument("directory", type=DIR)
def list_keys(directory: Path) -> None:
    """The published keys, the active one first."""
    from connector.identity.keys import KeyRing

    settings = settings_of(directory)
    try:
        ring = KeyRing.load(settings.directory, settings.did)
    except ConnectorError as exc:
        raise click.ClickException(exc.message) from None
    rows = [
        {"kid": key.kid, "state": "active" if i == 0 else "retired, still published"}
        for i, key in enumerate(ring.published())
    ]
    emit(rows, lambda shown: table(shown, [("kid", "key id"), ("state", "state")]))


@keys_group.command("rotate")
@click.argument("directory", type=DIR)
def rotate(directory: Path) -> None:
    """Make a new active key; a running connector signs with it from its next token on.
    The rotation is an entry of the audit log (old key, new key, who)."""
    from datetime import UTC, datetime

    from connector.participant import rotate_keys

    settings = settings_of(directory)
    try:
        old, new = rotate_keys(settings, by=f"cli:{_user()}", now=datetime.now(UTC))
    except ConnectorError as exc:
        raise click.ClickException(exc.message) from None
    emit(
        {"active": new, "retired": old},
        lambda r: say(f"active key {r['active']} (was {r['retired']}, still published as retired)"),
    )


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        return "unknown"
