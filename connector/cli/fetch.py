"""`tsunagu fetch`: stream a transfer's data to a file or stdout, through our own connector.

The connector keeps the transfer's tokens and refreshes them; this command only talks to the
local management API, so it works the same for a file, a query or a live stream (Ctrl-C ends
a live one).
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import anyio
import click
import httpx

from connector.cli.common import DIR
from connector.cli.output import json_mode, print_json, progress
from connector.cli.policy import record_fetched
from connector.errors import ConnectorError


@click.command("fetch")
@click.argument("directory", type=DIR)
@click.argument("transfer_id")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File (default stdout)."
)
@click.option("--path", "subpath", default="", help="A sub-path the dataset allows.")
@click.option("--query", "-q", multiple=True, metavar="K=V", help="A query parameter (repeatable).")
@click.option("--live", is_flag=True, help="Ask for a live stream of readings (NDJSON).")
@click.option("--events", is_flag=True, help="Ask for a live stream as Server-Sent Events.")
@click.option("--range", "byte_range", help="A byte range, e.g. 'bytes=0-1023'.")
def fetch_command(
    directory: Path,
    transfer_id: str,
    output: Path | None,
    subpath: str,
    query: tuple[str, ...],
    live: bool,
    events: bool,
    byte_range: str | None,
) -> None:
    """Stream the data of TRANSFER_ID (a started transfer of this participant) to a file or
    stdout. Needs `tsunagu serve DIRECTORY` running."""
    from connector.settings import load_settings

    for item in query:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not K=V", param_hint="--query")
    try:
        settings = load_settings(directory)
    except ConnectorError as exc:
        raise click.ClickException(exc.message) from None
    host = "127.0.0.1" if settings.bind in ("0.0.0.0", "::") else settings.bind
    url = f"http://{host}:{settings.port}/management/transfers/{transfer_id}/data"
    params: list[tuple[str, str | int | float | bool | None]] = (
        [("path", subpath)] if subpath else []
    )
    params += [("query", q) for q in query]
    headers = {"Authorization": f"Bearer {settings.management_token}"}
    headers["Accept"] = "text/event-stream" if events else "application/x-ndjson" if live else "*/*"
    if byte_range:
        headers["Range"] = byte_range

    kept: dict[str, str] = {}

    async def go() -> int:
        timeout = httpx.Timeout(30.0, read=None if (live or events) else 300.0)
        async with httpx.AsyncClient(timeout=timeout) as http:
            try:
                async with http.stream("GET", url, params=params, headers=headers) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        raise click.ClickException(_message(response))
                    kept.update(response.headers)
                    sink = (
                        output.open("wb") if output else contextlib.nullcontext(sys.stdout.buffer)
                    )
                    size = response.headers.get("content-length")
                    with (
                        sink as out,
                        progress(
                            f"fetching {transfer_id}",
                            total=int(size) if size and size.isdigit() else None,
                            unit="bytes",
                        ) as meter,
                    ):
                        async for chunk in response.aiter_bytes():
                            out.write(chunk)
                            if output is None or live or events:
                                out.flush()
                            meter.advance(len(chunk))
                    return meter.done
            except httpx.HTTPError as exc:
                raise click.ClickException(
                    f"cannot read from the connector at {url} ({exc.__class__.__name__}); "
                    "is `tsunagu serve` running?"
                ) from None

    written = anyio.run(go)
    if output is not None:
        if json_mode():
            print_json({"transfer_id": transfer_id, "output": str(output), "bytes": written})
        else:
            click.echo(f"wrote {written} bytes to {output}", err=True)
        record_fetched(directory, transfer_id, output, kept)  # attribution, deletion duty


def _message(response: httpx.Response) -> str:
    try:
        error = json.loads(response.content)["error"]
        return f"{error['message']} [{error['code']}]"
    except (ValueError, KeyError, TypeError):
        return f"the connector answered {response.status_code}"
