"""`tsunagu search`: search the harvested catalogues of the data space."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from connector.cli.common import DIR, client_for, run
from connector.cli.output import emit
from connector.text_table import table


@click.command("search")
@click.argument("directory", type=DIR)
@click.argument("text", required=False, default="")
@click.option("--theme", multiple=True, help="Theme (slug, label or IRI); narrower ones count.")
@click.option("--near", multiple=True, help="Municipality code or basin; upstream counts too.")
@click.option("--place", multiple=True, help="Municipality code or basin, exactly.")
@click.option("--publisher", multiple=True, help="Publisher or provider DID.")
@click.option("--format", "formats", multiple=True, help="Transfer format (HttpData-PULL).")
@click.option("--from", "start", default=None, help="Data from this date on (YYYY-MM-DD).")
@click.option("--to", "end", default=None, help="Data up to this date (YYYY-MM-DD).")
@click.option("--limit", type=int, default=50, show_default=True)
def search(
    directory: Path,
    text: str,
    theme: tuple[str, ...],
    near: tuple[str, ...],
    place: tuple[str, ...],
    publisher: tuple[str, ...],
    formats: tuple[str, ...],
    start: str | None,
    end: str | None,
    limit: int,
) -> None:
    """Search the harvested catalogues: TEXT in Japanese or English, and filters. Run
    `tsunagu catalog harvest DIR` first."""
    params: list[tuple[str, str]] = [("q", text), ("limit", str(limit))]
    params += [("theme", t) for t in theme] + [("near", n) for n in near]
    params += [("place", p) for p in place] + [("publisher", p) for p in publisher]
    params += [("format", f) for f in formats]
    params += [("from", start)] if start else []
    params += [("to", end)] if end else []

    async def go() -> Any:
        async with client_for(directory) as client:
            result = await client.call("GET", "/catalog/search", params=params)
            if not result["hits"] and not await client.call("GET", "/catalog/peers"):
                raise click.ClickException(
                    "nothing harvested yet: run `tsunagu catalog harvest DIR` first"
                )
            return result

    emit(run(go), _hits)


def _hits(result: dict[str, Any]) -> None:
    if not result["hits"]:
        click.echo("no dataset matches")
        return
    rows = [[h["title"], h["publisher"], h["dataset"], h["provider"]] for h in result["hits"]]
    click.echo(table(rows, ["title", "publisher", "dataset", "provider"], [36, 16, 48, 40]))
    shown = len(result["hits"])
    more = f" (first {shown})" if result["total"] > shown else ""
    click.echo(
        f"\n{result['total']} dataset(s){more}. Negotiate with: "
        "tsunagu negotiate DIR <provider> <dataset>"
    )
