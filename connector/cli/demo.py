"""`tsunagu demo`: a whole river basin on this machine."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import anyio
import click


@click.command()
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the participants in this directory.",
)
@click.option(
    "--console",
    is_flag=True,
    help="Afterwards keep the participants running and print each operator console's URL "
    "and login (Ctrl-C stops them).",
)
def demo(keep: Path | None, console: bool) -> None:
    """Run a river basin on this machine: an authority, A市 and B町 upstream, C村 downstream.

    C村 reads A's and B's catalogues, negotiates for their water-level data and starts
    transfers, all over DSP on loopback. Exits 0 only if every step succeeded.
    """
    from connector.demo.scenario import run_demo

    try:
        ok = anyio.run(functools.partial(run_demo, keep, console=console))
    except KeyboardInterrupt:  # Ctrl-C during the story: the participants were stopped
        click.echo("\ninterrupted")
        ok = False
    if console and ok:
        click.echo("stopped")
    sys.exit(0 if ok else 1)
