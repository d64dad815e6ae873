"""The demo's audit moment: an auditor verifies A市, B町 and C村, clean; then one stored entry
of B町 is altered in its database, and the auditor's next run names it and says how it was
caught.

The auditor is a participant of its own (a credential with `role: auditor`); each
municipality's operator allows it (`[audit] auditors` in tsunagu.toml, then a restart). The
auditor trusts neither side: it takes each log's keys from the DID documents, verifies every
entry, the checkpoints, and each side's receipts against the other side's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import TYPE_CHECKING, Any

import click
import httpx

from connector.audit.auditor import auditor_tokens, verifiers_of
from connector.audit.client import AuditReader, verify_connectors
from connector.audit.crosscheck import LogView
from connector.audit.provenance import exchanges
from connector.errors import ConnectorError

if TYPE_CHECKING:
    from connector.demo.localspace import LocalDataspace
    from connector.demo.scenario import Steps

KEYS = ("a", "b", "c")
AUDITOR = "auditor"


async def run(basin: LocalDataspace, steps: Steps) -> None:
    names = {basin[k].did: basin[k].settings.name for k in KEYS}

    async def join() -> Any:
        return await basin.add(AUDITOR, "流域監査室 (basin audit office)", role="auditor")

    auditor = await steps.run("an auditor joins the dataspace with an auditor credential", join)
    names[auditor.did] = auditor.settings.name

    async def allow() -> None:
        await _receipts_settled(basin)  # first: a restart would interrupt their delivery
        await asyncio.gather(
            *(basin.reconfigure(key, audit_auditors=(auditor.did,)) for key in KEYS)
        )

    await steps.run("A市, B町 and C村 let the auditor read their logs", allow)
    tokens = auditor_tokens(auditor.settings, clock=basin.clock)

    async def verify() -> list[LogView]:
        async with httpx.AsyncClient(timeout=30) as http:
            logs = []
            for key in KEYS:
                p = basin[key]
                reader = AuditReader(http, p.settings.public_url, tokens(p.did))
                await http.post(
                    p.settings.public_url + "/audit/checkpoint",
                    headers={"Authorization": f"Bearer {tokens(p.did)()}"},
                )
                logs.append((p.did, reader, await verifiers_of(http, p.did)))
            return await verify_connectors(logs)

    async def clean() -> list[LogView]:
        views = await verify()
        if not all(v.report.ok for v in views):
            _print(views, names)
            raise ConnectorError("the auditor found problems in untouched logs")
        return views

    views = await steps.run(
        "the auditor verifies A市, B町 and C村, each and against each other", clean
    )
    _print(views, names)
    for exchange in exchanges([(v.did, v.entries) for v in views]):
        started = [t.started for t in exchange.transfers if t.started]
        click.echo(
            f"      {names.get(exchange.provider)} -> {names.get(exchange.consumer)}: "
            f"{exchange.dataset} under {exchange.agreement} "
            f"(policy sha256 {exchange.policy_sha256[:12]}…), signed {exchange.signed}, "
            f"transfer started {min(started) if started else 'never'}; "
            f"in {len(set(exchange.recorded_by))} logs"
        )

    b = basin["b"]
    altered = await steps.run(
        "someone edits one stored entry in B町's database directly",
        lambda: asyncio.to_thread(_alter_an_entry, b),
    )
    click.echo(f"      B町's entry {altered}: 'STARTED' rewritten to 'SUSPENDED'")

    async def caught() -> list[LogView]:
        views = await verify()
        b_view = next(v for v in views if v.did == b.did)
        named = {f.seq for f in b_view.report.findings if f.seq is not None}
        others_clean = all(v.report.ok for v in views if v is not b_view)
        if named != {altered} or not others_clean:
            _print(views, names)
            raise ConnectorError(f"the auditor did not pin the change to entry {altered}")
        return views

    views = await steps.run("the auditor runs again and names the altered entry", caught)
    _print(views, names)


def _alter_an_entry(participant: Any) -> int:
    """The latest transfer entry of B町's log, changed in place with the sqlite3 shell's
    means: no connector code involved, as anyone with the database file could."""
    url = participant.settings.database
    if not url.startswith("sqlite:///"):
        raise ConnectorError("the audit moment alters a SQLite database; this one is not")
    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db, db:
        seq, body = db.execute(
            "SELECT seq, body FROM audit_entry WHERE body LIKE ? AND body LIKE ? "
            "ORDER BY seq DESC LIMIT 1",
            ('%"kind":"transfer.transition"%', '%"to":"STARTED"%'),
        ).fetchone()
        altered = str(body).replace('"to":"STARTED"', '"to":"SUSPENDED"')
        db.execute("UPDATE audit_entry SET body = ? WHERE seq = ?", (altered, seq))
        return int(seq)


async def _receipts_settled(basin: LocalDataspace, timeout: float = 10.0) -> None:
    """Until each side has delivered the receipts it owes (they go out in the background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(timeout=10) as http:
        for key in KEYS:
            p = basin[key]
            while True:
                response = await http.get(
                    p.settings.public_url + "/audit/receipts/outbox",
                    headers={"Authorization": f"Bearer {p.settings.management_token}"},
                )
                if not response.json()["receipts"]:
                    break
                if loop.time() > deadline:
                    raise ConnectorError(f"{p.settings.name} still owes receipts")
                await p.connector.receipts.run_once()
                await asyncio.sleep(0.05)


def _print(views: list[LogView], names: dict[str, str]) -> None:
    for view in views:
        report = view.report
        name = names.get(view.did, view.did)
        if report.ok:
            click.echo(
                f"      {name}: {report.entries_checked} entries, checkpoint "
                f"{view.size}, signatures and receipts check out: clean"
            )
            continue
        click.echo(click.style(f"      {name}: {len(report.findings)} finding(s)", fg="red"))
        for f in report.findings:
            where = f"entry {f.seq}: " if f.seq is not None else ""
            click.echo(f"        {f.code}  {where}{f.message}")
