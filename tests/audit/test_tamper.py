"""Tampering with the audit log directly in the database: each kind is detected.

The auditor trusts only the log's origin, the connector's public key and the checkpoint it
saw last time; everything else comes from the (tampered) connector's API."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from connector.audit.checkpoint import Checkpoint, verify_checkpoint
from connector.audit.client import AuditReader, verify_connector
from connector.audit.entries import Entry
from connector.audit.merkle import Frontier, leaf_hash
from connector.audit.verifier import Report
from connector.demo.localspace import Participant
from tests.audit.conftest import trusted, write_events

pytestmark = pytest.mark.anyio
N = 8


async def checkpoint(participant: Participant, http: httpx.AsyncClient) -> Checkpoint:
    response = await http.post(
        participant.settings.public_url + "/audit/checkpoint",
        headers={"Authorization": f"Bearer {participant.settings.management_token}"},
    )
    assert response.status_code == 201, response.text
    origin, verifiers = trusted(participant)
    return verify_checkpoint(response.json()["note"], origin, verifiers)


async def audit(
    participant: Participant, reader: AuditReader, previous: Checkpoint | None = None
) -> Report:
    origin, verifiers = trusted(participant)
    return await verify_connector(reader, origin=origin, verifiers=verifiers, previous=previous)


def sql(participant: Participant, statement: str, **params: object) -> None:
    with participant.connector.store.engine.begin() as connection:
        connection.execute(text(statement), params)


def body(participant: Participant, seq: int) -> str:
    with participant.connector.store.engine.connect() as connection:
        return str(
            connection.execute(
                text("SELECT body FROM audit_entry WHERE seq = :s"), {"s": seq}
            ).scalar_one()
        )


def forge_event(participant: Participant) -> int:
    """An event row for a forged entry: the schema ties every entry to an event."""
    sql(
        participant,
        "INSERT INTO event (seq, at, process, process_id, role, direction, message, to_state,"
        " peer_did, detail) VALUES (10000, '2026-04-01 09:00:00', 'negotiation', 'urn:uuid:forged',"
        " 'provider', 'inbound', 'REQUEST', 'REQUESTED', 'did:web:c.example', '{}')",
    )
    return 10_000


@pytest.fixture
async def logged(participant: Participant, http: httpx.AsyncClient) -> Checkpoint:
    write_events(participant, N)
    return await checkpoint(participant, http)


async def test_an_untouched_log_verifies(
    participant: Participant, reader: AuditReader, http: httpx.AsyncClient, logged: Checkpoint
) -> None:
    report = await audit(participant, reader)
    assert report.ok and report.entries_checked == N
    write_events(participant, 3, prefix="more")
    later = await checkpoint(participant, http)
    report = await audit(participant, reader, previous=logged)
    assert report.ok and report.checkpoint == later


@pytest.mark.usefixtures("logged")
async def test_a_changed_entry_is_named(participant: Participant, reader: AuditReader) -> None:
    sql(
        participant,
        "UPDATE audit_entry SET body = :b WHERE seq = 2",
        b=body(participant, 2).replace("REQUESTED", "AGREED"),
    )
    report = await audit(participant, reader)
    assert ("entry_altered", 2) in [(f.code, f.seq) for f in report.findings]
    assert "root_mismatch" in report.codes()


@pytest.mark.usefixtures("logged")
async def test_a_changed_entry_with_its_leaf_rewritten_too_is_named(
    participant: Participant, reader: AuditReader
) -> None:
    forged = body(participant, 5).replace('"i":5', '"i":500')
    sql(participant, "UPDATE audit_entry SET body = :b WHERE seq = 5", b=forged)
    sql(
        participant,
        "UPDATE audit_node SET hash = :h WHERE level = 0 AND idx = 5",
        h=leaf_hash(forged.encode()),
    )
    report = await audit(participant, reader)
    assert "entry_altered" not in report.codes()  # the served leaf agrees with the entry...
    assert ("inclusion_failed", 5) in [(f.code, f.seq) for f in report.findings]  # ...not the tree


@pytest.mark.usefixtures("logged")
async def test_a_deleted_entry_is_named(participant: Participant, reader: AuditReader) -> None:
    sql(participant, "DELETE FROM audit_entry WHERE seq = 3")
    report = await audit(participant, reader)
    assert [(f.code, f.seq) for f in report.findings] == [("entry_missing", 3)]


@pytest.mark.usefixtures("logged")
async def test_reordered_entries_are_named(participant: Participant, reader: AuditReader) -> None:
    one, two = body(participant, 1), body(participant, 2)
    sql(participant, "UPDATE audit_entry SET body = :b WHERE seq = 1", b=two)
    sql(participant, "UPDATE audit_entry SET body = :b WHERE seq = 2", b=one)
    report = await audit(participant, reader)
    found = {(f.code, f.seq) for f in report.findings}
    assert {("entry_out_of_place", 1), ("entry_out_of_place", 2)} <= found


@pytest.mark.usefixtures("logged")
async def test_an_entry_inserted_in_the_middle_is_detected(
    participant: Participant, reader: AuditReader
) -> None:
    # Make room at 4 (highest first, so the primary key never clashes), then forge an entry
    # that claims position 4 and hashes correctly as a leaf.
    for seq in range(N - 1, 3, -1):
        sql(participant, "UPDATE audit_entry SET seq = :n WHERE seq = :s", n=seq + 1, s=seq)
    template = Entry.from_bytes(body(participant, 3).encode())
    forged = Entry(4, template.time, template.kind, "urn:uuid:forged", template.peer, {})
    sql(
        participant,
        "INSERT INTO audit_entry (seq, event_seq, body) VALUES (4, :e, :b)",
        e=forge_event(participant),
        b=forged.canonical().decode(),
    )
    report = await audit(participant, reader)
    codes = report.codes()
    assert "entry_altered" in codes and "entry_out_of_place" in codes
    assert ("entry_outside_tree", N) in [(f.code, f.seq) for f in report.findings]


@pytest.mark.usefixtures("logged")
async def test_an_entry_appended_behind_the_logs_back_is_detected(
    participant: Participant, reader: AuditReader
) -> None:
    template = Entry.from_bytes(body(participant, 0).encode())
    forged = Entry(N, template.time, template.kind, "urn:uuid:forged", template.peer, {})
    sql(
        participant,
        "INSERT INTO audit_entry (seq, event_seq, body) VALUES (:s, :e, :b)",
        s=N,
        e=forge_event(participant),
        b=forged.canonical().decode(),
    )
    report = await audit(participant, reader)
    assert [(f.code, f.seq) for f in report.findings] == [("entry_outside_tree", N)]


def truncate(participant: Participant, keep: int) -> None:
    """Cut the log to `keep` entries and make its head agree, as a careful attacker would."""
    sql(participant, "DELETE FROM audit_entry WHERE seq >= :k", k=keep)
    sql(participant, "DELETE FROM audit_node WHERE ((idx + 1) << level) > :k", k=keep)
    with participant.connector.store.engine.connect() as connection:
        leaves = [
            bytes(r[0])
            for r in connection.execute(
                text("SELECT hash FROM audit_node WHERE level = 0 ORDER BY idx")
            )
        ]
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    sql(
        participant,
        "UPDATE audit_head SET size = :n, frontier = :f",
        n=keep,
        f=b"".join(frontier.hashes),
    )


@pytest.mark.usefixtures("logged")
async def test_a_truncated_log_is_detected(participant: Participant, reader: AuditReader) -> None:
    truncate(participant, 5)
    report = await audit(participant, reader)
    found = [(f.code, f.seq) for f in report.findings]
    assert [("entry_missing", s) for s in range(5, N)] == [
        f for f in found if f[0] != "log_truncated"
    ]
    assert "log_truncated" in report.codes()


async def test_a_truncated_log_with_a_fresh_checkpoint_is_detected(
    participant: Participant, reader: AuditReader, http: httpx.AsyncClient, logged: Checkpoint
) -> None:
    truncate(participant, 5)
    sql(participant, "DELETE FROM audit_checkpoint")  # so the connector signs the short log
    await checkpoint(participant, http)
    report = await audit(participant, reader, previous=logged)
    assert report.codes() == ["log_truncated"]


async def test_a_rewritten_history_with_a_fresh_checkpoint_is_detected(
    participant: Participant, reader: AuditReader, http: httpx.AsyncClient, logged: Checkpoint
) -> None:
    truncate(participant, 0)
    sql(participant, "DELETE FROM audit_checkpoint")
    write_events(participant, N + 2, prefix="rewritten")  # a whole new, self-consistent tree
    await checkpoint(participant, http)
    report = await audit(participant, reader, previous=logged)
    assert {"inconsistent", "history_rewritten"} <= set(report.codes())


@pytest.mark.usefixtures("logged")
async def test_the_connector_refuses_to_sign_over_a_damaged_tree(
    participant: Participant, http: httpx.AsyncClient
) -> None:
    sql(participant, "UPDATE audit_node SET hash = :h WHERE level = 3 AND idx = 0", h=bytes(32))
    write_events(participant, 1, prefix="after")
    response = await http.post(
        participant.settings.public_url + "/audit/checkpoint",
        headers={"Authorization": f"Bearer {participant.settings.management_token}"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "log_inconsistent"
