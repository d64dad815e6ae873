"""A running connector whose audit log has a few entries, and a reader of its audit API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from connector.audit.checkpoint import NoteVerifier, origin_for
from connector.audit.client import AuditReader
from connector.demo.localspace import LocalDataspace, Participant
from connector.store.tables import EventRow
from tests.audit.exchange import auditable_space
from tests.conftest import with_migrated_sqlite


@pytest.fixture
async def participant(tmp_path: Path) -> AsyncIterator[Participant]:
    async with LocalDataspace(tmp_path) as space:
        await space.start_authority()
        yield await space.add("a", "A市")


def write_events(participant: Participant, n: int, prefix: str = "p") -> None:
    """State changes as the control plane writes them: one event per transaction."""
    now = participant.connector.clock()
    for i in range(n):
        with participant.connector.store.transaction() as tx:
            tx.add(
                EventRow(
                    at=now + timedelta(seconds=i),
                    process="negotiation",
                    process_id=f"urn:uuid:{prefix}-{i}",
                    role="provider",
                    direction="inbound",
                    message="REQUEST",
                    to_state="REQUESTED",
                    peer_did="did:web:c.example",
                    detail={"i": i},
                )
            )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def reader(participant: Participant, http: httpx.AsyncClient) -> AuditReader:
    settings = participant.settings
    return AuditReader(http, settings.public_url, settings.management_token)


def trusted(participant: Participant) -> tuple[str, list[NoteVerifier]]:
    """What an auditor pins out of band: the log's origin and the connector's public key."""
    origin = origin_for(participant.did)
    return origin, [NoteVerifier(origin, participant.connector.keys.active.public_key())]


@pytest.fixture
async def space(
    tmp_path: Path, database_for: Callable[[str], str | None], migrated_sqlite: Path
) -> AsyncIterator[LocalDataspace]:
    """Provider A市 and consumer C村, both letting the auditor 監査法人 read their logs (on
    SQLite, and on PostgreSQL where TSUNAGU_TEST_DATABASE_URL is set)."""
    urls = with_migrated_sqlite(tmp_path, migrated_sqlite, database_for)
    async for s in auditable_space(tmp_path, urls):
        yield s
