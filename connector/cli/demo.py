"""`tsunagu demo`: a whole river basin on this machine."""

from __future__ import annotations

import contextlib
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
    from connector.cli.output import json_mode, print_json
    from connector.demo.scenario import run_demo

    as_json = json_mode()
    # With --json the story goes to standard error and the outcome alone to standard output.
    story = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    interrupted = False
    with story:
        try:
            ok = anyio.run(functools.partial(run_demo, keep, console=console))
        except KeyboardInterrupt:  # Ctrl-C during the story: the participants were stopped
            click.echo("\ninterrupted")
            ok, interrupted = False, True
        if console and ok:
            click.echo("stopped")
    if as_json:
        print_json(
            {"ok": ok, "interrupted": interrupted, "kept": None if keep is None else str(keep)}
        )
    sys.exit(0 if ok else 1)
