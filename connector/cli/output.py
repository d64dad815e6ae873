"""How commands speak: a short human summary or table by default, JSON with `--json` (for
scripts), secrets hidden unless `--show-token`, and progress with rates for long work.

Every command gets `--json` from `add_output_options` (called once on the whole command tree),
so a command only decides *what* to show: `emit(record, human)` prints `record` as JSON in
`--json` mode and calls `human(record)` otherwise. Human output goes to standard output with
rich; progress goes to standard error and only when it is a terminal, so pipes stay clean.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

_JSON = "tsunagu.json"
_SHOW_TOKEN = "tsunagu.show_token"

# Names under which a credential travels: DSP endpoint properties, our records, configs.
SECRET_NAMES = frozenset(
    {"authorization", "refreshtoken", "refresh_token", "token", "management_token", "secret"}
)
HIDDEN = "(hidden; --show-token shows it)"

# Labels for the ids users copy from one command into the next (never "PID").
LABELS = {
    "id": "process id",
    "agreement_id": "agreement id",
    "dataset_id": "dataset id",
    "offer_id": "offer id",
    "peer_pid": "peer's process id",
}


# -- options -----------------------------------------------------------------------------------


def _flag(key: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    def store(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.meta[key] = True

    return store


def add_output_options(command: click.Command) -> None:
    """Give `command` and every sub-command `--json` (idempotent)."""
    if not any(p.name == "json_output" for p in command.params):
        command.params.append(
            click.Option(
                ["--json", "json_output"],
                is_flag=True,
                expose_value=False,
                is_eager=True,
                callback=_flag(_JSON),
                help="Print machine-readable JSON instead of a summary.",
            )
        )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_output_options(sub)


def show_token_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """For commands whose answer carries a credential (a transfer's data address)."""
    return click.option(
        "--show-token",
        is_flag=True,
        expose_value=False,
        callback=_flag(_SHOW_TOKEN),
        help="Also print tokens (they grant access to the data: keep them out of logs).",
    )(command)


def json_mode() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.meta.get(_JSON))


def showing_tokens() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.meta.get(_SHOW_TOKEN))


# -- secrets -----------------------------------------------------------------------------------


def redact(data: Any) -> Any:
    """`data` with every credential replaced by a note (DSP endpoint properties included)."""
    if isinstance(data, dict):
        name = data.get("name")
        if isinstance(name, str) and name.lower() in SECRET_NAMES and "value" in data:
            return {**data, "value": HIDDEN}
        return {
            k: HIDDEN if k.lower() in SECRET_NAMES and isinstance(v, str) else redact(v)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [redact(v) for v in data]
    return data


# -- printing ----------------------------------------------------------------------------------


def console(*, stderr: bool = False) -> Console:
    """A console for this call (tests swap sys.stdout, so none is kept). Off a terminal it is
    wide and plain, so ids are never wrapped or coloured in what scripts and logs see."""
    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    # Off a terminal lines are as long as their content (COLUMNS is often a stale 80 there).
    width = None if terminal else 1000
    return Console(
        file=stream,
        width=width,
        highlight=False,
        no_color=not terminal or "NO_COLOR" in os.environ,
        soft_wrap=not terminal,
    )


def show(renderable: Any) -> None:
    """Print a rich renderable; off a terminal without the padding at line ends."""
    out = console()
    if out.is_terminal:
        out.print(renderable)
        return
    with out.capture() as captured:
        out.print(renderable)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def emit(data: Any, human: Callable[[Any], None]) -> None:
    """`data` as JSON with `--json`, else as `human` renders it; secrets hidden either way
    unless `--show-token`."""
    shown = data if showing_tokens() else redact(data)
    if json_mode():
        print_json(shown)
    else:
        human(shown)


def say(message: str) -> None:
    """One line for people (nothing in `--json` mode, where only the JSON is printed)."""
    if not json_mode():
        show(Text(message))


def _text(value: Any) -> Text:
    if value is None:
        return Text("-")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, dict | list):
        return Text(json.dumps(value, ensure_ascii=False, default=str))
    return Text(str(value))


def summary(title: str, fields: Sequence[tuple[str, Any]]) -> None:
    """A titled list of label: value lines, ids first (as the caller orders them)."""
    show(Text(title, style="bold"))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in fields:
        grid.add_row(Text(f"  {label}"), _text(value))
    show(grid)


def table(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[tuple[str, str]],
    *,
    empty: str = "nothing yet",
) -> None:
    """Rows as a table; `columns` pairs a row key with its heading."""
    rows = list(rows)
    if not rows:
        show(Text(empty))
        return
    grid = Table(box=None, show_edge=False, pad_edge=False, header_style="bold")
    for i, (_, heading) in enumerate(columns):
        grid.add_column(heading, no_wrap=i == 0, overflow="fold")
    for row in rows:
        grid.add_row(*(_text(row.get(key)) for key, _ in columns))
    show(grid)


# -- progress ----------------------------------------------------------------------------------


class Meter:
    """A handle on one progress line: advance it, retitle it, set its total once known."""

    def __init__(self, progress: Progress | None, task: Any) -> None:
        self._progress = progress
        self._task = task
        self.done = 0

    @property
    def visible(self) -> bool:
        return self._progress is not None

    def advance(self, amount: float = 1) -> None:
        self.done += int(amount)
        if self._progress is not None:
            self._progress.advance(self._task, amount)

    def describe(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=text)

    def total(self, total: float | None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=total)


@contextlib.contextmanager
def progress(
    description: str, *, total: float | None = None, unit: str = "items"
) -> Iterator[Meter]:
    """Progress with a rate on standard error: `unit="bytes"` shows sizes and B/s, `"rows"`
    a count and rows/s, `"wait"` a spinner and the time waited. Shown only on a terminal and
    never in `--json` mode, so scripts see nothing but their data."""
    err = console(stderr=True)
    if json_mode() or not err.is_terminal:
        yield Meter(None, None)
        return
    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if unit == "bytes":
        columns += [BarColumn(), DownloadColumn(), TransferSpeedColumn()]
    elif unit == "wait":
        columns += [TimeElapsedColumn()]
    else:
        columns += [BarColumn(), MofNCompleteColumn(), TaskProgressColumn(), _RateColumn(unit)]
    with Progress(*columns, console=err, transient=unit == "wait") as bar:
        yield Meter(bar, bar.add_task(description, total=total))


class _RateColumn(TextColumn):
    """Items per second, e.g. '12,345 rows/s'."""

    def __init__(self, unit: str) -> None:
        super().__init__("")
        self.unit = unit
        self.started = time.monotonic()

    def render(self, task: Any) -> Text:
        elapsed = task.elapsed or (time.monotonic() - self.started)
        rate = task.completed / elapsed if elapsed else 0.0
        return Text(f"{rate:,.0f} {self.unit}/s")
