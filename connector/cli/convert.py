"""`tsunagu convert`: an owner's readings (CSV or JSON) into the shared model, with a report.

Exit codes: 0 success; 1 the data has problems (rejected rows, strict stop); 2 the command
could not run (bad mapping, unreadable file).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from connector.cli.common import fail
from connector.cli.output import json_mode, progress
from vocab.errors import ConversionAborted, VocabError

if TYPE_CHECKING:
    from vocab.outcomes import ConversionSummary

MAX_ISSUES_SHOWN = 20


@click.command(name="convert")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--mapping",
    "-m",
    "mapping_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The mapping file (TOML) describing SOURCE.",
)
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    help="Where to write the shared-model records ('-' for standard output).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["csv", "jsonld"]),
    default="csv",
    show_default=True,
    help="Shared-model CSV (flat, full IRIs) or one JSON-LD document.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Stop at the first bad row and treat dates outside their era as errors; "
    "with --output, nothing is written unless every row converts.",
)
@click.option(
    "--sample",
    type=click.IntRange(min=0),
    default=None,
    help="Bulk mode for large files: check 1 row in N with SHACL (0: none). "
    "Default: every record is checked. CSV output only.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the summary and every issue as JSON to this file.",
)
def convert_command(
    source: Path,
    mapping_path: Path,
    output: str,
    output_format: str,
    strict: bool,
    sample: int | None,
    report: Path | None,
) -> None:
    """Convert SOURCE (CSV or JSON) into the shared model with a mapping file.

    Dates (和暦 or ISO) become ISO 8601 with +09:00, values are converted to each property's
    unit (water level m, rainfall mm or mm/h, discharge m3/s), municipality codes are
    checked and stored with their check digit, and local station codes become shared IRIs.
    A summary of converted, warned and rejected rows goes to standard error; each issue
    names the row, field, value and rule.

    \b
    Examples:
      tsunagu convert --mapping a-city.toml a-city-readings.csv -o readings.csv
      tsunagu convert -m b-town.toml b-town-readings.json --format jsonld
      tsunagu convert -m big.toml big.csv -o shared.csv --sample 10000
    """
    from vocab.bulk import bulk_convert  # rdflib and pyshacl: loaded when converting only
    from vocab.convert import convert_to
    from vocab.mapping import load_mapping

    if sample is not None and output_format != "csv":
        raise click.UsageError("--sample (bulk mode) writes CSV only; drop --format jsonld")
    try:
        mapping = load_mapping(mapping_path)
    except VocabError as error:
        fail(error)
    try:
        with _destination(output, atomic=strict) as stream:
            with progress(f"converting {source.name}", unit="rows") as meter:
                if sample is not None:
                    summary = bulk_convert(
                        source,
                        mapping,
                        stream,
                        strict=strict,
                        validate_every=sample,
                        on_rows=meter.advance,
                    )
                else:
                    summary = convert_to(
                        source,
                        mapping,
                        stream,
                        output_format="jsonld" if output_format == "jsonld" else "csv",
                        strict=strict,
                        on_outcome=lambda _: meter.advance(),
                    )
    except ConversionAborted as error:
        click.echo(f"stopped: {error}", err=True)
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(1)  # the reader went away (| head); nothing more to say
    except (VocabError, OSError) as error:
        fail(error)
    if json_mode():
        click.echo(json.dumps(_report(summary), ensure_ascii=False, indent=2), err=output == "-")
    else:
        _print_summary(summary)
    if report is not None:
        report.write_text(
            json.dumps(_report(summary), ensure_ascii=False, indent=2), encoding="utf-8"
        )
    if summary.rejected:
        sys.exit(1)


@contextlib.contextmanager
def _destination(output: str, *, atomic: bool) -> Iterator[IO[str]]:
    """Standard output, or a file; when `atomic`, the file appears only if all went well."""
    if output == "-":
        yield sys.stdout
        return
    target = Path(output)
    if not atomic:
        with target.open("w", encoding="utf-8", newline="") as stream:
            yield stream
        return
    handle, temporary = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _print_summary(summary: ConversionSummary) -> None:
    click.echo(summary.text(), err=True)
    for note in summary.notes:
        click.echo(f"  note: {note}", err=True)
    for issue in summary.issues[:MAX_ISSUES_SHOWN]:
        click.echo(f"  {issue.severity}: {issue}", err=True)
    hidden = sum(summary.rules.values()) - min(len(summary.issues), MAX_ISSUES_SHOWN)
    if hidden > 0:
        by_rule = ", ".join(f"{rule} {count}" for rule, count in summary.rules.most_common())
        click.echo(f"  ... {hidden} more issues ({by_rule}); use --report for all", err=True)


def _report(summary: ConversionSummary) -> dict[str, Any]:
    return {
        "rows": summary.rows,
        "converted": summary.converted,
        "warned": summary.warned,
        "rejected": summary.rejected,
        "records": summary.records,
        "validated": summary.validated,
        "rules": dict(summary.rules),
        "notes": summary.notes,
        "issues": [
            {
                "row": i.row,
                "field": i.field,
                "value": i.value,
                "rule": i.rule,
                "severity": i.severity,
                "message": i.message,
            }
            for i in summary.issues
        ],
    }
