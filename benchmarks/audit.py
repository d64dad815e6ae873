"""Audit log: batched append with tree maintenance and persistence, and proof latency.

One SQLite database (WAL, synchronous=NORMAL, as the connector runs it). Printed, from one run:

* baseline: RFC 8785 canonicalisation + SHA-256 of the same N entries, in memory (the least any
  log that hashes canonical entries must do), and plain SHA-256 of the ready bytes;
* append: the same N entries through `connector.store.audit_log.append` in batches (one
  transaction per batch: head lock, entry rows, perfect-subtree node rows, head update),
  entries per second and the ratio to the baseline (target >= 20,000 entries/s);
* at the final size: inclusion and consistency proofs, generation (read from the store) and
  verification, mean and p95 per proof (target < 2 ms);
* a full verification of all N entries as an auditor does it (`verifier.verify_log`: parse,
  re-canonicalise, leaf-hash every entry, recompute the root, check the signed checkpoint),
  against the baseline (target: within 2x of canonicalising and hashing the same entries);
* one state transition (a transaction that changes a row and writes its event) with the
  audit log on and off, interleaved (target: auditing adds < 20 %); "on" includes the
  sealing: on PostgreSQL the sealer's transaction that follows a commit when the head was
  busy, on SQLite the sealer thread's batches and a final seal of each round.

The events the entries record are inserted first, untimed: the benchmark measures the log.
With TSUNAGU_TEST_DATABASE_URL set, the append and proofs are measured on PostgreSQL too.

    python benchmarks/audit.py [--entries 1000000] [--batch 1000] [--proofs 500] [--quick]
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as a script, this folder comes first on sys.path, and benchmarks/catalog.py would stand
# in for the catalog package: leave the folder off.
_sys.path[:] = [
    p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).parent.resolve()
]

import argparse
import hashlib
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from connector.audit.checkpoint import Checkpoint, NoteVerifier, sign_checkpoint
from connector.audit.entries import Entry
from connector.audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from connector.audit.verifier import ServedEntry, verify_log
from connector.identity.keys import SigningKey
from connector.store.audit_log import AuditQueries, append
from connector.store.database import build_engine, normalise_url
from connector.store.migrate import upgrade
from connector.store.store import Store
from connector.store.tables import EventRow

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def entry_maker(event_seq: int) -> Callable[[int], Entry]:
    def make(seq: int) -> Entry:
        return Entry.for_event(
            seq,
            event_seq=event_seq,
            at=T0 + timedelta(milliseconds=event_seq),
            process="transfer",
            process_id=f"urn:uuid:bench-{event_seq // 4}",
            role="provider",
            direction="inbound",
            message="TransferStartMessage",
            from_state="REQUESTED",
            to_state="STARTED",
            peer_did="did:web:c-village.example",
            detail={"agreement": "urn:uuid:agreement-1", "bytes": event_seq * 17},
        )

    return make


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def insert_events(store: Store, n: int, batch: int) -> None:
    table: Any = EventRow.__table__
    for start in range(0, n, batch):
        rows = [
            {
                "seq": i + 1,
                "at": T0,
                "process": "transfer",
                "process_id": f"urn:uuid:bench-{i // 4}",
                "role": "provider",
                "direction": "inbound",
                "message": "TransferStartMessage",
                "from_state": "REQUESTED",
                "to_state": "STARTED",
                "peer_did": "did:web:c-village.example",
                "detail": {},
            }
            for i in range(start, min(n, start + batch))
        ]
        with store.engine.begin() as connection:
            connection.execute(insert(table), rows)
    if store.engine.dialect.name == "postgresql":  # the rows took their seq: move the sequence
        with store.engine.begin() as connection:
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('event', 'seq'), {n})"))


def baseline(n: int) -> tuple[float, float]:
    started = time.perf_counter()
    bodies = []
    for i in range(n):
        body = entry_maker(i + 1)(i).canonical()
        hashlib.sha256(body).digest()
        bodies.append(body)
    canonical_rate = n / (time.perf_counter() - started)
    started = time.perf_counter()
    for body in bodies:
        hashlib.sha256(b"\x00" + body).digest()
    return canonical_rate, n / (time.perf_counter() - started)


def run(label: str, url: str, args: argparse.Namespace, base: float) -> None:
    engine = build_engine(url)
    upgrade(engine)
    store = Store(engine)
    n, batch = args.entries, args.batch
    insert_events(store, n, 10_000)
    started = time.perf_counter()
    for start in range(0, n, batch):
        records = [(i + 1, entry_maker(i + 1)) for i in range(start, min(n, start + batch))]
        with store.transaction() as tx:
            append(tx.session, records)
    rate = n / (time.perf_counter() - started)

    audit = AuditQueries(store)
    assert audit.size() == n
    root = audit.root(n)
    rng = random.Random(7)
    bodies = {e.seq: e.body for e in audit.entries(0, 1)}
    gen_inc, ver_inc, gen_con, ver_con = [], [], [], []
    for _ in range(args.proofs):
        seq = rng.randrange(n)
        body = audit.entries(seq, 1)[0].body
        bodies[seq] = body
        t0 = time.perf_counter()
        proof = audit.inclusion_proof(seq, n)
        t1 = time.perf_counter()
        verify_inclusion(seq, n, leaf_hash(body.encode()), proof, root)
        t2 = time.perf_counter()
        gen_inc.append((t1 - t0) * 1000)
        ver_inc.append((t2 - t1) * 1000)
        old = rng.randrange(1, n)
        old_root = audit.root(old)
        t0 = time.perf_counter()
        proof = audit.consistency_proof(old, n)
        t1 = time.perf_counter()
        verify_consistency(old, n, old_root, root, proof)
        t2 = time.perf_counter()
        gen_con.append((t1 - t0) * 1000)
        ver_con.append((t2 - t1) * 1000)
    verify_rate, verify_base = full_verification(audit, n)
    transition_on, transition_off, ratio = transitions(store, args.transitions)
    store.dispose()

    print(f"\n== {label}: {n:,} entries, batches of {batch:,} ==")
    print(
        f"append with tree maintenance and persistence   {rate:10,.0f} entries/s"
        f"   ratio to baseline {rate / base:.3f}   (target >= 20,000/s)"
    )
    for name, gen, ver in (
        ("inclusion", gen_inc, ver_inc),
        ("consistency", gen_con, ver_con),
    ):
        total = [g + v for g, v in zip(gen, ver, strict=True)]
        print(
            f"{name:<12} proof at {n:,}: generate p50 {percentile(gen, 0.5):.3f} ms"
            f"  p95 {percentile(gen, 0.95):.3f} ms; verify p50 {percentile(ver, 0.5):.3f} ms;"
            f"  both p95 {percentile(total, 0.95):.3f} ms   (target < 2 ms)"
        )
    print(
        f"full verification of {n:,} entries             {verify_rate:10,.0f} entries/s"
        f"   {verify_base / verify_rate:.2f}x the baseline's time   (target <= 2x;"
        f" baseline {verify_base:,.0f}/s measured around it)"
    )
    overhead = (ratio - 1) * 100
    print(
        f"one transition: audit log on {transition_on:.3f} ms, off {transition_off:.3f} ms"
        f"   overhead {overhead:+.1f} %   (target < 20 %)"
    )


def full_verification(audit: AuditQueries, n: int) -> tuple[float, float]:
    """Entries per second of `verify_log` over the whole log (entries read beforehand), and
    the baseline's rate measured right before and after it (the mean of the two): both see
    the same machine, where the first baseline of the run may be minutes away."""
    key = SigningKey.generate("bench")
    origin = "did:web:bench.example/audit"
    note = sign_checkpoint(Checkpoint(origin, n, audit.root(n)), key)
    served = []
    for start in range(0, n, 10_000):
        served += [ServedEntry(e.seq, e.body, e.leaf_hash) for e in audit.entries(start, 10_000)]
    before, _ = baseline(n)
    started = time.perf_counter()
    report = verify_log(
        origin=origin,
        verifiers=[NoteVerifier(origin, key.public_key())],
        note=note,
        entries=served,
        tree_size=n,
    )
    elapsed = time.perf_counter() - started
    after, _ = baseline(n)
    assert report.ok, report.findings[:3]
    return n / elapsed, (before + after) / 2


def transitions(store: Store, count: int) -> tuple[float, float, float]:
    """Median ms of one transition with the audit log on, and off, and the median ratio of the
    two, interleaved in rounds so both see the same machine. The transition is a transfer
    start as the connector makes it: the process row is read, its state changed, its event
    written. Auditing is everything the log adds to that: the entry (head lock, entry and node
    rows, head update) and the receipt owed to the peer for a started transfer; off skips both.
    The transition leaves its entry pending (PostgreSQL: a pending row) and the store's sealer
    writes the rest a few ms later, batched: "on" runs
    it as the connector does and, each round, ends with the seal of whatever is still
    pending, timed, so every entry (and receipt) of the round is in the log when its clock
    stops."""
    from connector.store import store as store_module
    from connector.store.tables import TransferRow

    pid = "urn:uuid:bench-transition"
    with store.transaction() as tx:
        tx.add(
            TransferRow(
                id=pid,
                role="provider",
                state="REQUESTED",
                peer_pid="urn:uuid:bench-consumer-side",
                counterparty_did="did:web:c-village.example",
                counterparty_address="https://c-village.example/dsp/2025-1",
                agreement_id="urn:uuid:bench-agreement",
                format="HttpData-PULL",
                created_at=T0,
                updated_at=T0,
            )
        )
    appender, receipts = store_module.append_to_audit_log, store_module.owe_receipts
    later = store.seal_later  # entries sealed by the sealer thread (and SQLite's next commit)

    def one(i: int) -> None:
        with store.transaction() as tx:
            row = tx.session.get(TransferRow, pid)
            assert row is not None
            row.state = "STARTED"
            row.updated_at = T0 + timedelta(microseconds=i)
            tx.add(
                EventRow(
                    at=row.updated_at,
                    process="transfer",
                    process_id=pid,
                    role="provider",
                    direction="inbound",
                    message="TransferStartMessage",
                    from_state="REQUESTED",
                    to_state="STARTED",
                    peer_did="did:web:c-village.example",
                    detail={"i": i},
                )
            )

    on: list[float] = []
    off: list[float] = []
    rounds = 20
    for r in range(rounds):
        # Taking turns which goes first (on, off, off, on, ...): a machine that slows or speeds
        # up during a round weighs on both alike.
        order = (("on", on), ("off", off)) if r % 2 == 0 else (("off", off), ("on", on))
        for mode, times in order:
            store_module.append_to_audit_log = appender if mode == "on" else _no_log  # type: ignore[assignment]
            store_module.owe_receipts = receipts if mode == "on" else _no_receipts  # type: ignore[assignment]
            store.seal_later = later and mode == "on"
            started = time.perf_counter()
            for i in range(count // rounds):
                one(r * count + i)
            if mode == "on":
                store.seal_pending()  # the round's last entries: counted, not left behind
            times.append(time.perf_counter() - started)
            if mode == "off":
                _leave_unlogged(store)
    store_module.append_to_audit_log, store_module.owe_receipts = appender, receipts
    store.seal_later = later
    # The overhead is the median of the rounds' own ratios (other work on a shared machine
    # comes in bursts, which a mean over the whole run passes on), the times their medians.
    per = count // rounds
    ratio = statistics.median(a / b for a, b in zip(on, off, strict=True))
    return statistics.median(on) / per * 1000, statistics.median(off) / per * 1000, ratio


def _leave_unlogged(store: Store) -> None:
    """SQLite counts every event after the last one sealed as pending (AuditHeadRow.event_seq):
    those of an "off" round are not the log's, and the next "on" round must not seal them."""
    if store.engine.dialect.name == "sqlite":
        with store.engine.begin() as connection:
            connection.execute(
                text("UPDATE audit_head SET event_seq = (SELECT max(seq) FROM event)")
            )


def _no_log(_session: Any, records: Any) -> int:
    return len(records)


def _no_receipts(*_: Any) -> int:
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--proofs", type=int, default=500)
    parser.add_argument("--transitions", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="50,000 entries: well under 60 s")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.proofs = min(args.entries, 50_000), min(args.proofs, 200)
        args.transitions = min(args.transitions, 1000)
    canonical_rate, sha_rate = baseline(args.entries)
    print(f"baseline: canonicalise + SHA-256, in memory     {canonical_rate:10,.0f} entries/s")
    print(f"          SHA-256 of ready canonical bytes      {sha_rate:10,.0f} entries/s")
    with tempfile.TemporaryDirectory(prefix="tsunagu-bench-audit-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'audit.db'}"
        run("SQLite (WAL, synchronous=NORMAL)", url, args, canonical_rate)
    pg = os.environ.get("TSUNAGU_TEST_DATABASE_URL")
    if pg:
        admin = create_engine(normalise_url(pg))
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            sep = "&" if "?" in pg else "?"
            run("PostgreSQL", f"{pg}{sep}options=-csearch_path%3D{schema}", args, canonical_rate)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
