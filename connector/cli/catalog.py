"""`tsunagu catalog`: read a provider's catalogue; publish, show and validate our DCAT
descriptions; import a portal's DCAT-AP file; harvest the data space's catalogues.

`tsunagu catalog DIR PROVIDER` (no sub-command) reads PROVIDER's catalogue as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from connector.cli import views
from connector.cli.common import DIR, client_for, run
from connector.cli.output import emit, json_mode, print_json, progress, say, summary

_SUFFIXES = {
    ".ttl": "turtle",
    ".jsonld": "json-ld",
    ".json": "dsp",
    ".rdf": "xml",
    ".xml": "xml",
    ".yaml": "yaml",
    ".yml": "yaml",
}


class _CatalogGroup(click.Group):
    """Sub-commands, with `read` the default so `tsunagu catalog DIR PROVIDER` keeps working."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["read", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_CatalogGroup)
def catalog() -> None:
    """Catalogues: read a peer's, publish ours, harvest and search the data space's."""


@catalog.command("read")
@click.argument("directory", type=DIR)
@click.argument("provider")
@click.option(
    "--address", help="The provider's DSP base URL; found from its DID document when absent."
)
def read(directory: Path, provider: str, address: str | None) -> None:
    """Read PROVIDER's (a DID) catalogue as it lets this participant see it."""
    params = {"provider": provider} | ({"provider_address": address} if address else {})

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("GET", "/catalog", params=params)

    emit(run(go), views.catalog)


def _format_of(path: Path, given: str | None) -> str:
    if given:
        return given
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise click.UsageError(f"cannot tell the format of {path.name}; give --format")
    return fmt


def _send(
    directory: Path,
    path: Path,
    fmt: str,
    *,
    endpoint: str,
    rename: str | None = None,
    audience: tuple[str, ...] = (),
) -> dict[str, Any]:
    try:
        document = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    body: dict[str, Any] = {"document": document, "format": fmt, "audience": list(audience)}
    if rename:
        body["as"] = rename

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("POST", endpoint, json=body)

    result: dict[str, Any] = run(go)
    return result


def _report(result: dict[str, Any]) -> None:
    emit(result, _report_lines)


def _report_lines(result: dict[str, Any]) -> None:
    verb = "published" if result["published"] else "valid"
    for entry in result["datasets"]:
        state = ("new" if entry["created"] else "updated") if result["published"] else "ok"
        click.echo(f"{verb}: {entry['id']} ({state})")
        for warning in entry["warnings"]:
            click.echo(f"  note: {warning}")


_FILE = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_FORMAT = click.option(
    "--format",
    "fmt",
    default=None,
    help="turtle, json-ld, xml, yaml or dsp (default: from the file's suffix).",
)
_AUDIENCE = click.option(
    "--audience",
    multiple=True,
    help="Only members of this body (a council IRI) see the datasets; repeat for several.",
)


@catalog.command("publish")
@click.argument("directory", type=DIR)
@_FILE
@_FORMAT
@_AUDIENCE
def publish(directory: Path, file: Path, fmt: str | None, audience: tuple[str, ...]) -> None:
    """Publish the DCAT descriptions in FILE (datasets added before, by id)."""
    _report(
        _send(
            directory, file, _format_of(file, fmt), endpoint="/catalog/entries", audience=audience
        )
    )


def _per_language(values: tuple[str, ...], option: str) -> dict[str, str] | None:
    if not values:
        return None
    out: dict[str, str] = {}
    for value in values:
        language, sep, text = value.partition("=")
        if not sep or not language:
            raise click.BadParameter(
                f"write LANG=TEXT, e.g. ja=河川水位: {value!r}", param_hint=option
            )
        out[language.strip()] = text
    return out


def _keywords(values: tuple[str, ...]) -> dict[str, list[str]] | None:
    if not values:
        return None
    out: dict[str, list[str]] = {}
    for value in values:
        language, sep, word = value.partition("=")
        if not sep or not language:
            raise click.BadParameter(
                f"write LANG=WORD, e.g. en=water level: {value!r}", param_hint="--keyword"
            )
        out.setdefault(language.strip(), [])
        if word.strip():
            out[language.strip()].append(word)
    return out


@catalog.command("text")
@click.argument("directory", type=DIR)
@click.argument("dataset")
@click.option("--title", "titles", multiple=True, help="LANG=TEXT, e.g. ja=河川水位 (repeatable).")
@click.option("--description", "descriptions", multiple=True, help="LANG=TEXT (repeatable).")
@click.option(
    "--keyword",
    "keywords",
    multiple=True,
    help="LANG=WORD (repeatable); the words given for a language replace its keywords, "
    "`LANG=` alone removes them.",
)
def text(
    directory: Path,
    dataset: str,
    titles: tuple[str, ...],
    descriptions: tuple[str, ...],
    keywords: tuple[str, ...],
) -> None:
    """Set DATASET's titles, descriptions or keywords per language, checked by the shapes
    (languages not named keep their text; `LANG=` with nothing removes a language)."""
    body = {
        "title": _per_language(titles, "--title"),
        "description": _per_language(descriptions, "--description"),
        "keywords": _keywords(keywords),
    }
    if all(v is None for v in body.values()):
        raise click.UsageError("give at least one --title, --description or --keyword")

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("PATCH", f"/catalog/entries/{dataset}", json=body)

    _report(run(go))


@catalog.command("validate")
@click.argument("directory", type=DIR)
@_FILE
@_FORMAT
def validate(directory: Path, file: Path, fmt: str | None) -> None:
    """Check FILE as publishing would (vocabulary terms, profile shapes); store nothing."""
    _report(_send(directory, file, _format_of(file, fmt), endpoint="/catalog/validate"))


@catalog.command("import")
@click.argument("directory", type=DIR)
@_FILE
@click.option("--format", "fmt", default=None, help="turtle, json-ld or xml (default: suffix).")
@click.option("--as", "rename", default=None, help="Publish the file's one dataset as this id.")
@_AUDIENCE
def import_portal(
    directory: Path, file: Path, fmt: str | None, rename: str | None, audience: tuple[str, ...]
) -> None:
    """Import a portal's DCAT-AP file (as CKAN's ckanext-dcat publishes it)."""
    rdf = _format_of(file, fmt)
    if rdf not in ("turtle", "json-ld", "xml"):
        raise click.UsageError("a portal file is Turtle, JSON-LD or RDF/XML")
    _report(
        _send(
            directory,
            file,
            "ckan-" + rdf,
            endpoint="/catalog/entries",
            rename=rename,
            audience=audience,
        )
    )


@catalog.command("show")
@click.argument("directory", type=DIR)
@click.argument("dataset", required=False)
@click.option(
    "--format",
    "fmt",
    default="turtle",
    show_default=True,
    help="turtle, json-ld or xml (the whole catalogue).",
)
def show(directory: Path, dataset: str | None, fmt: str) -> None:
    """Our catalogue as DCAT RDF, or one DATASET as published (with its audience)."""

    async def go() -> Any:
        async with client_for(directory) as client:
            if dataset:
                return await client.call("GET", f"/catalog/entries/{dataset}")
            return await client.text("GET", "/catalog/own", params={"format": fmt})

    result = run(go)
    if isinstance(result, str):
        click.echo(result)  # RDF in the format asked for, with or without --json
    else:
        emit(result, _entry)


def _entry(entry: dict[str, Any]) -> None:
    dataset = entry["dataset"]
    summary(
        f"dataset {dataset.get('@id', '')}",
        [
            ("described", entry["described"]),
            ("audience", ", ".join(entry["audience"]) or "everyone"),
            ("offer audience", entry["offer_audience"] or "-"),
        ],
    )
    say("as published (DCAT, JSON-LD):")
    print_json(dataset)


@catalog.command("harvest")
@click.argument("directory", type=DIR)
@click.option(
    "--peer",
    "peers",
    multiple=True,
    help="DID[=DSP base URL] to harvest; default: every participant the authority lists.",
)
@click.option("--deadline", type=float, default=30.0, show_default=True, help="Seconds per peer.")
def harvest(directory: Path, peers: tuple[str, ...], deadline: float) -> None:
    """Harvest the catalogues of the data space, showing each peer as it finishes."""
    named = []
    for peer in peers:
        did, _, address = peer.partition("=")
        named.append({"did": did, **({"address": address} if address else {})})
    body = {"peers": named, "deadline": deadline}

    as_json = json_mode()

    async def go() -> tuple[int, list[dict[str, Any]]]:
        results: list[dict[str, Any]] = []
        with progress("harvesting catalogues", unit="peers") as meter:
            async with client_for(directory) as client:
                total = 0
                async for line in client.lines(
                    "POST", "/catalog/harvest", params={"stream": "true"}, json=body
                ):
                    if "peers" in line and "did" not in line:
                        total = line["peers"]
                        meter.total(total)
                        meter.describe(f"harvesting {total} peer(s)")
                        if total and not as_json and not meter.visible:
                            click.echo(f"harvesting {total} peer(s)", err=True)
                        continue
                    results.append(line)
                    meter.advance()
                    if not as_json:
                        click.echo(f"[{len(results)}/{total}] {_harvested(line)}")
        return total, results

    total, results = run(go)
    if total == 0:
        raise click.ClickException(
            "nothing to harvest: no --peer given, and the authority lists no other participant"
        )
    if as_json:
        print_json({"peers": total, "results": results})
    if any(not r["ok"] for r in results):
        raise SystemExit(1)


def _harvested(line: dict[str, Any]) -> str:
    if line["ok"]:
        detail = (
            f"{line['entries']} entries ({line['changed']} new or changed, "
            f"{line['removed']} removed)"
        )
    else:
        detail = f"FAILED {line['failure_code']}: {line['failure']}"
    return f"{line['did']}: {detail} in {line['seconds']:.1f}s"
