"""`tsunagu backup DIR --output FILE` and `tsunagu restore FILE DIR`: a participant (keys,
config, credential, database) as one file, and back (docs/operations.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from connector.cli.common import DIR
from connector.cli.output import emit, say
from connector.errors import ConnectorError


@click.command("backup")
@click.argument("directory", type=DIR)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive to write (tar.gz, mode 0600: it holds the private keys).",
)
def backup_command(directory: Path, output: Path) -> None:
    """Back up the participant in DIRECTORY while its connector may keep running."""
    from connector.backup import backup

    try:
        summary = backup(directory, output, now=datetime.now(UTC))
    except ConnectorError as exc:
        raise click.ClickException(exc.message) from None
    emit(
        {
            "output": str(output),
            "files": summary.files,
            "database": summary.database,
            "rows": summary.rows,
        },
        lambda _: say(
            f"backed up {summary.files} files and the {summary.database} database to {output}"
        ),
    )


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("directory", type=DIR)
@click.option(
    "--database-url",
    help="Load the database into this (empty) PostgreSQL database instead of the one the "
    "backed-up config names.",
)
def restore_command(archive: Path, directory: Path, database_url: str | None) -> None:
    """Restore a backup into DIRECTORY (new or empty); then `tsunagu serve DIRECTORY`."""
    from connector.backup import restore

    try:
        summary = restore(archive, directory, database_url=database_url)
    except ConnectorError as exc:
        raise click.ClickException(exc.message) from None
    emit(
        {
            "directory": str(directory),
            "files": summary.files,
            "database": summary.database,
            "rows": summary.rows,
        },
        lambda _: say(
            f"restored {summary.files} files and the {summary.database} database into {directory}"
        ),
    )
