"""`tsunagu vocab show|diff|validate`: the shared vocabulary, its releases and extensions.

Exit codes: 0 success; 1 the data has problems (violations, rejected rows, strict stop);
2 the command could not run (bad mapping, unreadable file, unknown release).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from connector.cli.common import CommandFailed, fail
from connector.cli.output import json_mode, print_json
from vocab.errors import VocabError

if TYPE_CHECKING:
    from rdflib import Graph

    from vocab.vocabulary import Vocabulary


def _vocabulary(release: str, extension: Path | None) -> Vocabulary:
    from vocab.extension import check_extension
    from vocab.vocabulary import Vocabulary, load_graph_file, load_vocabulary, release_graph

    try:
        vocabulary = (
            Vocabulary(release_graph(release)) if release != "current" else load_vocabulary()
        )
        if extension is not None:
            local = load_graph_file(extension)
            errors = [p for p in check_extension(local, vocabulary) if p.severity == "error"]
            if errors:
                raise CommandFailed("; ".join(str(p) for p in errors))
            vocabulary = vocabulary.with_extension(local)
    except (VocabError, OSError) as error:
        fail(error)
    return vocabulary


@click.group(name="vocab")
def vocab_group() -> None:
    """The shared vocabulary: show terms, compare releases, validate data and local terms.

    tsunagu's own terms live under https://w3id.org/tsunagu/vocab/ (themes, observable
    properties, thresholds, alert levels); observations use SOSA, units QUDT, places and
    addresses the IMI core vocabulary.
    """


@vocab_group.command(name="show")
@click.argument("term", required=False)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["summary", "turtle", "jsonld", "html"]),
    default=None,
    help="Default: a summary for the whole vocabulary, Turtle for one term.",
)
@click.option(
    "--release",
    default="current",
    show_default=True,
    help="A release number such as 0.1.0 (see the summary for the list).",
)
@click.option(
    "--extension",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Add a participant's local terms (Turtle) to what is shown.",
)
def show(term: str | None, output_format: str | None, release: str, extension: Path | None) -> None:
    """Show the vocabulary, or one TERM given as a CURIE (theme:flood) or an IRI.

    \b
    Examples:
      tsunagu vocab show
      tsunagu vocab show threshold:flood-caution
      tsunagu vocab show --format jsonld > vocab.jsonld
    """
    from vocab.publication import FORMAT_NAMES, serialise

    vocabulary = _vocabulary(release, extension)
    if term is None:
        graph = vocabulary.graph
        if output_format in (None, "summary"):
            if json_mode():
                print_json(_summary_record(vocabulary))
            else:
                click.echo(_summary(vocabulary))
            return
    else:
        iri = vocabulary.expand(term)
        graph = vocabulary.describe(iri)
        if not len(graph):
            raise CommandFailed(f"{term} is not a term of the vocabulary {vocabulary.version}")
        if output_format == "summary":
            output_format = "turtle"
    if json_mode() and output_format is None:
        output_format = "jsonld"  # a term as JSON: its JSON-LD description
    media = FORMAT_NAMES[output_format or "turtle"]
    click.echo(serialise(graph, media, title=term or "tsunagu vocabulary"), nl=False)


def _summary_record(vocabulary: Vocabulary) -> dict[str, object]:
    from vocab.namespaces import compact_iri
    from vocab.versioning import deprecations
    from vocab.vocabulary import releases

    return {
        "version": vocabulary.version,
        "version_iri": str(vocabulary.version_iri),
        "namespace": "https://w3id.org/tsunagu/vocab/",
        "releases": list(releases()),
        "concept_schemes": [
            {
                "id": compact_iri(str(scheme)),
                "label": vocabulary.label(str(scheme), "en") or None,
                "terms": len(vocabulary.concepts_in(str(scheme))),
            }
            for scheme in vocabulary.concept_schemes()
        ],
        "deprecated": {
            compact_iri(old): compact_iri(new) if new else None
            for old, new in sorted(deprecations(vocabulary.graph).items())
        },
    }


def _summary(vocabulary: Vocabulary) -> str:
    from vocab.namespaces import compact_iri
    from vocab.versioning import deprecations
    from vocab.vocabulary import releases

    lines = [
        f"tsunagu shared vocabulary {vocabulary.version}",
        f"  version IRI  {vocabulary.version_iri}",
        "  namespace    https://w3id.org/tsunagu/vocab/",
        f"  releases     {', '.join(releases())}",
        "  concept schemes:",
    ]
    for scheme in vocabulary.concept_schemes():
        name = vocabulary.label(str(scheme), "en") or compact_iri(str(scheme))
        count = len(vocabulary.concepts_in(str(scheme)))
        lines.append(f"    {compact_iri(str(scheme)):34} {count:3} terms  {name}")
    deprecated = deprecations(vocabulary.graph)
    if deprecated:
        lines.append("  deprecated:")
        for old, new in sorted(deprecated.items()):
            target = compact_iri(new) if new else "(no replacement)"
            lines.append(f"    {compact_iri(old)} -> {target}")
    return "\n".join(lines)


@vocab_group.command(name="diff")
@click.argument("old")
@click.argument("new", default="current")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
def diff_command(old: str, new: str, output_format: str) -> None:
    """Report what changed from OLD to NEW: terms added, removed, deprecated, and changed
    labels or mappings. Each side is a release number (0.1.0), "current", or a Turtle file.

    \b
    Example:
      tsunagu vocab diff 0.1.0 current
    """
    from vocab.versioning import diff

    result = diff(_release_or_file(old), _release_or_file(new))
    if output_format == "json" or json_mode():
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(result.text())


def _release_or_file(name: str) -> Graph:
    from vocab.vocabulary import load_graph_file, release_graph, releases

    try:
        if name == "current" or name in releases():
            return release_graph(name)
        if Path(name).is_file():
            return load_graph_file(name)
    except (VocabError, OSError) as error:
        fail(error)
    raise CommandFailed(f"{name!r} is neither a release ({', '.join(releases())}) nor a file")


@vocab_group.command(name="validate")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--extension",
    "as_extension",
    is_flag=True,
    help="FILES are local vocabulary terms: check that each maps onto a shared term.",
)
def validate(files: tuple[Path, ...], as_extension: bool) -> None:
    """Validate FILES (Turtle or JSON-LD) against the shared model's SHACL shapes.

    Readings and stations are checked by their type (tsu:WaterLevelObservation,
    tsu:RainfallObservation, tsu:Station, sosa:Observation). Exit status 1 lists every
    violation with its focus node, field, value and rule.

    \b
    Examples:
      tsunagu vocab validate stations.ttl readings.jsonld
      tsunagu vocab validate --extension a-city-terms.ttl
    """
    from vocab.extension import check_extension
    from vocab.shapes import validate_graph
    from vocab.vocabulary import graphs_from_files, load_vocabulary

    try:
        graph = graphs_from_files(files)
        if as_extension:
            problems = check_extension(graph, load_vocabulary())
            failed = any(p.severity == "error" for p in problems)
            if json_mode():
                print_json(
                    {"ok": not failed, "problems": [dataclasses.asdict(p) for p in problems]}
                )
            else:
                for problem in problems:
                    click.echo(str(problem))
                if not failed:
                    click.echo(
                        f"ok: local terms map onto the shared vocabulary ({len(problems)} notes)"
                    )
            if failed:
                sys.exit(1)
            return
        violations = validate_graph(graph)
    except (VocabError, OSError) as error:
        fail(error)
    if json_mode():
        print_json(
            {
                "ok": not violations,
                "triples": len(graph),
                "violations": [dataclasses.asdict(v) for v in violations],
            }
        )
        sys.exit(1 if violations else 0)
    for violation in violations:
        click.echo(str(violation))
    if violations:
        click.echo(f"{len(violations)} violation(s)", err=True)
        sys.exit(1)
    click.echo(f"ok: {len(graph)} triples conform")
