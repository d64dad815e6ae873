"""`tsunagu audit`: verify connectors' logs as an auditor, and list a log's entries.

    tsunagu audit verify TARGET... [--as AUDITOR_DIR] [--state FILE] [--json]
    tsunagu audit show DIR [--process ID] [--agreement ID] [--peer DID] [--since T] ...
    tsunagu audit checkpoint DIR

A TARGET is a participant directory (read with its management token), a connector's URL or
its DID. With `--as`, requests carry a fresh ID token of that auditor participant (its
credential must say `role: auditor`, and the connector must allow it). Exit status: 0 clean,
1 findings, 2 the verification could not run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import httpx

from connector.cli.common import DIR, CommandFailed, run, settings_of
from connector.cli.output import Meter, emit, json_mode, print_json, progress, summary

STATE = Path.home() / ".tsunagu" / "audit-state.json"


@click.group("audit")
def audit_group() -> None:
    """Verify audit logs across connectors; list entries."""


@dataclass
class _Target:
    did: str
    base_url: str
    token: str | Callable[[], str]


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


async def _resolve(
    spec: str, http: httpx.AsyncClient, tokens: Callable[[str], Callable[[], str]] | None
) -> _Target:
    from connector.audit.auditor import base_url_of, did_at
    from connector.settings import CONFIG_FILE

    path = Path(spec)
    token: str | Callable[[], str] | None = None
    if path.is_dir() and (path / CONFIG_FILE).exists():  # a participant directory
        settings = settings_of(path)
        did, token = settings.did, settings.management_token
        host = "127.0.0.1" if settings.bind in ("0.0.0.0", "::") else settings.bind
        base = f"http://{host}:{settings.port}"
    elif spec.startswith("did:web:"):
        did, base = spec, base_url_of(spec)
    elif spec.startswith(("http://", "https://")):
        base = spec.rstrip("/")
        did = await did_at(http, base)
    else:
        raise CommandFailed(f"{spec}: not a participant directory, a URL or a did:web")
    if tokens is not None:
        token = tokens(did)
    if token is None:
        raise CommandFailed(f"{spec}: reading another connector's log needs --as AUDITOR_DIR")
    return _Target(did, base, token)


def _progress(
    meter: Meter, did: str, counts: dict[str, tuple[int, int]]
) -> Callable[[int, int], None]:
    """A reader's (entries read, log size) reports, summed over the logs into `meter`."""

    def show(done: int, total: int) -> None:
        before, _ = counts.get(did, (0, 0))
        counts[did] = (done, total)
        meter.total(sum(size for _, size in counts.values()))
        meter.describe(f"reading {did}'s log")
        meter.advance(done - before)

    return show


@audit_group.command("verify")
@click.argument("targets", nargs=-1, required=True)
@click.option(
    "--as", "auditor", type=DIR, help="The auditor's participant directory (its ID tokens)."
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    default=STATE,
    show_default=True,
    help="Where the last verified checkpoint of each log is remembered.",
)
def verify(targets: tuple[str, ...], auditor: Path | None, state: Path) -> None:
    """Verify the logs of TARGETS, each on its own and against each other: entries, proofs,
    checkpoints (each signed by the key the log's rotations announce), receipts, and that
    every recorded access stayed within its agreement's time window and count."""
    from connector.audit.auditor import auditor_tokens, verifiers_of
    from connector.audit.client import AuditReader, verify_connectors
    from connector.audit.state import load_state, previous_checkpoints, save_state

    tokens = None if auditor is None else auditor_tokens(settings_of(auditor))

    async def go() -> list[Any]:
        remembered = load_state(state)
        counts: dict[str, tuple[int, int]] = {}
        with progress("reading audit logs", unit="entries") as meter:
            async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
                logs: list[Any] = []
                files = []
                for spec in targets:
                    if Path(spec).is_file():  # an export: its keys from the DID, never the file
                        export = _read_export(Path(spec))
                        did = export.origin.removesuffix("/audit")
                        files.append((did, export, await verifiers_of(http, did)))
                        continue
                    target = await _resolve(spec, http, tokens)
                    reader = AuditReader(http, target.base_url, target.token)
                    reader.progress = _progress(meter, target.did, counts)
                    logs.append((target.did, reader, await verifiers_of(http, target.did)))
                trusted = {f"{did}/audit": v for did, _, v in [*logs, *files]}
                previous = previous_checkpoints(remembered, trusted)
                views = await verify_connectors(logs, previous=previous, exports=files)
        updated = dict(remembered)
        for view in views:
            if view.report.ok and view.report.checkpoint is not None:
                updated[view.origin] = _note_of(view)
        save_state(state, updated)
        return views

    views = run(go)
    if json_mode():
        print_json([_report_json(v) for v in views])
    else:
        for view in views:
            _print_report(view)
    if any(not v.report.ok for v in views):
        sys.exit(1)


def _read_export(path: Path) -> Any:
    from connector.audit.export import read_export

    with path.open(encoding="utf-8") as lines:
        return read_export(lines)


@audit_group.command("export")
@click.argument("target")
@click.option("--as", "auditor", type=DIR, help="The auditor's participant directory.")
@click.option(
    "--format",
    "form",
    type=click.Choice(["jsonl", "prov"]),
    default="jsonl",
    show_default=True,
    help="JSON Lines with proofs, or W3C PROV-O (Turtle).",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export(target: str, auditor: Path | None, form: str, output: Path) -> None:
    """Export TARGET's log as of a fresh checkpoint: with proofs, or as provenance."""
    from connector.audit.auditor import auditor_tokens
    from connector.audit.client import AuditReader
    from connector.audit.export import write_export
    from connector.audit.provenance import exchanges, to_prov

    tokens = None if auditor is None else auditor_tokens(settings_of(auditor))

    async def go() -> str:
        with progress("reading the audit log", unit="entries") as meter:
            async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
                resolved = await _resolve(target, http, tokens)
                reader = AuditReader(http, resolved.base_url, resolved.token)
                reader.progress = _progress(meter, resolved.did, {})
                note, vkeys = await reader.fresh_checkpoint()
                _size, entries = await reader.entries()
        if form == "prov":
            parsed = {e.seq: json.loads(e.body) for e in entries}
            return to_prov(exchanges([(resolved.did, parsed)]))
        origin = f"{resolved.did}/audit"
        return "\n".join(write_export(origin, note, vkeys, entries)) + "\n"

    output.write_text(run(go), encoding="utf-8")
    emit({"output": str(output), "format": form}, lambda _: click.echo(f"wrote {output}"))


def _note_of(view: Any) -> str:
    return str(view.report.note)


def _report_json(view: Any) -> dict[str, Any]:
    report = view.report
    return {
        "did": view.did,
        "origin": view.origin,
        "checkpoint_size": report.checkpoint.size if report.checkpoint else None,
        "entries_checked": report.entries_checked,
        "ok": report.ok,
        "findings": [{"code": f.code, "seq": f.seq, "message": f.message} for f in report.findings],
    }


def _print_report(view: Any) -> None:
    report = view.report
    size = report.checkpoint.size if report.checkpoint else "none"
    head = f"{view.did}: {report.entries_checked} entries checked against checkpoint {size}"
    if report.ok:
        click.echo(head + " — " + click.style("clean", fg="green"))
        return
    click.echo(head + " — " + click.style(f"{len(report.findings)} finding(s)", fg="red"))
    for f in report.findings:
        where = f"entry {f.seq}: " if f.seq is not None else ""
        click.echo(f"  {f.code}  {where}{f.message}")


@audit_group.command("show")
@click.argument("directory", type=DIR)
@click.option("--process", help="A negotiation or transfer id (ours).")
@click.option("--agreement", help="An agreement id.")
@click.option("--peer", help="The other participant's DID.")
@click.option("--kind", help="Entry kind, e.g. transfer.transition or audit.receipt.")
@click.option("--since", type=click.DateTime(), help="Entries at or after this UTC time.")
@click.option("--until", type=click.DateTime(), help="Entries before this UTC time.")
def show(
    directory: Path,
    process: str | None,
    agreement: str | None,
    peer: str | None,
    kind: str | None,
    since: datetime | None,
    until: datetime | None,
) -> None:
    """List the entries of a participant's log, filtered (`--json`: one JSON object a line,
    so long logs stream)."""
    from connector.audit.client import AuditReader
    from connector.audit.filters import EntryFilter

    settings = settings_of(directory)
    wanted = EntryFilter(process, agreement, peer, kind, since, until)

    async def go() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
            host = "127.0.0.1" if settings.bind in ("0.0.0.0", "::") else settings.bind
            reader = AuditReader(http, f"http://{host}:{settings.port}", settings.management_token)
            _size, entries = await reader.entries()
        return [e for e in (wanted.parse(s.body) for s in entries) if e is not None]

    as_json = json_mode()
    for entry in run(go):
        if as_json:
            click.echo(json.dumps(entry, ensure_ascii=False, sort_keys=True))
        else:
            click.echo(_line(entry))


def _line(entry: dict[str, Any]) -> str:
    details = entry.get("details", {})
    if entry.get("kind", "").endswith(".transition"):
        what = (
            f"{details.get('direction')} {details.get('message')} "
            f"{details.get('from')} -> {details.get('to')}"
        )
    else:
        bulky = ("entry", "proof", "checkpoint")
        what = ", ".join(f"{k}={v}" for k, v in sorted(details.items()) if k not in bulky)
    return (
        f"{entry['seq']:>6}  {entry['time']}  {entry['kind']:<24} "
        f"{entry['subject']}  {entry['peer'] or '-'}  {what}"
    )


@audit_group.command("checkpoint")
@click.argument("directory", type=DIR)
def checkpoint(directory: Path) -> None:
    """Sign the log's current size now."""
    settings = settings_of(directory)

    async def go() -> Any:
        host = "127.0.0.1" if settings.bind in ("0.0.0.0", "::") else settings.bind
        headers = {"Authorization": f"Bearer {settings.management_token}"}
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"http://{host}:{settings.port}/audit/checkpoint", headers=headers
            )
        if response.status_code >= 400:
            raise CommandFailed(
                f"the connector answered {response.status_code}: {response.text[:300]}"
            )
        return response.json()

    emit(
        run(go),
        lambda c: summary(
            f"checkpoint signed: {c['size']} entries",
            [("log", c["origin"]), ("root", c["root"]), ("signed at", c["created_at"])],
        ),
    )
