"""Key rotations are audit entries, and each checkpoint must be signed by the key its log
announced for it: `tsunagu keys rotate` records old key, new key and who; checkpoints before
and after it verify; one signed by a key the log did not make active is a finding."""

from __future__ import annotations

import json

import httpx
import pytest
from click.testing import CliRunner

from connector.audit.checkpoint import Checkpoint, NoteVerifier, origin_for, sign_checkpoint
from connector.audit.client import AuditReader, verify_connector
from connector.audit.verifier import Report
from connector.cli import main
from connector.demo.localspace import Participant
from connector.store.audit_log import AuditQueries
from tests.audit.conftest import write_events

pytestmark = pytest.mark.anyio


def published(participant: Participant) -> list[NoteVerifier]:
    origin = origin_for(participant.did)
    return [NoteVerifier(origin, k.public_key()) for k in participant.connector.keys.published()]


async def signed_now(participant: Participant, http: httpx.AsyncClient) -> str:
    response = await http.post(
        participant.settings.public_url + "/audit/checkpoint",
        headers={"Authorization": f"Bearer {participant.settings.management_token}"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["note"])


async def audit(participant: Participant, reader: AuditReader) -> Report:
    return await verify_connector(
        reader, origin=origin_for(participant.did), verifiers=published(participant)
    )


def signed_by(note: str, participant: Participant) -> str:
    """The kid of the participant's key whose signature the note carries."""
    from connector.audit.checkpoint import signers_of

    origin = origin_for(participant.did)
    keys = participant.connector.keys.published()
    [signer] = signers_of(note, [NoteVerifier(origin, k.public_key()) for k in keys])
    return next(k.kid for k in keys if NoteVerifier(origin, k.public_key()) == signer)


def rotations(participant: Participant) -> list[dict[str, object]]:
    queries = AuditQueries(participant.connector.store)
    found = [json.loads(e.body) for e in queries.entries(0, queries.size())]
    return [e for e in found if e["kind"] == "key.rotated"]


async def test_checkpoints_follow_the_rotations_the_log_announces(
    participant: Participant, reader: AuditReader, http: httpx.AsyncClient
) -> None:
    first = participant.connector.keys.active.kid
    write_events(participant, 3)
    assert signed_by(await signed_now(participant, http), participant) == first
    assert (await audit(participant, reader)).ok

    rotated = CliRunner().invoke(main, ["keys", "rotate", str(participant.settings.directory)])
    assert rotated.exit_code == 0, rotated.output
    second = participant.connector.keys.active.kid
    [entry] = rotations(participant)
    details = entry["details"]
    assert isinstance(details, dict)
    assert (details["old"], details["new"]) == (first, second)
    assert str(details["by"]).startswith("cli:")
    assert signed_by(await signed_now(participant, http), participant) == second
    report = await audit(participant, reader)
    assert report.ok, report.findings

    # The key files rotate again but no entry records it (yet): checkpoints stay with the key
    # the log announces, which is still published, and so still verify.
    participant.connector.keys.rotate()
    write_events(participant, 1, prefix="q")
    assert signed_by(await signed_now(participant, http), participant) == second
    assert (await audit(participant, reader)).ok


async def test_a_checkpoint_signed_by_a_key_not_announced_is_a_finding(
    participant: Participant, reader: AuditReader, http: httpx.AsyncClient
) -> None:
    old = participant.connector.keys.active
    write_events(participant, 2)
    await signed_now(participant, http)
    rotated = CliRunner().invoke(main, ["keys", "rotate", str(participant.settings.directory)])
    assert rotated.exit_code == 0, rotated.output
    write_events(participant, 1, prefix="q")
    origin = origin_for(participant.did)

    def sign_with_the_retired_key(size: int, root: bytes, _announced: str | None) -> str:
        return sign_checkpoint(Checkpoint(origin, size, root), old)

    queries = AuditQueries(participant.connector.store)
    made = queries.make_checkpoint(sign_with_the_retired_key, participant.connector.clock())
    report = await audit(participant, reader)
    assert report.codes() == ["checkpoint_key_unannounced"], report.findings
    assert f"checkpoint {made.size}" in report.findings[0].message


def test_a_clean_log_vouches_for_the_keys_it_rotated_through() -> None:
    """Receipts and cosignatures hold older checkpoints, signed by keys the DID document may
    no longer publish: the log's rotation entries name them, once the log itself verifies."""
    import base64
    from datetime import UTC, datetime

    from connector.audit.client import view_of
    from connector.audit.entries import Entry
    from connector.audit.merkle import leaf_hash, root_of
    from connector.audit.verifier import ServedEntry, verify_log
    from connector.identity.keys import SigningKey

    did = "did:web:a.example"
    origin = origin_for(did)
    old, new = SigningKey.generate(f"{did}#key-1"), SigningKey.generate(f"{did}#key-2")

    def raw(key: SigningKey) -> str:
        return base64.b64encode(
            base64.b64decode(key.public_jwk()["x"] + "==", altchars=b"-_")
        ).decode()

    rotation = Entry(
        seq=0,
        time=datetime(2026, 4, 1, tzinfo=UTC),
        kind="key.rotated",
        subject=did,
        peer="",
        details={"old": old.kid, "old_key": raw(old), "new": new.kid, "new_key": raw(new)},
    )
    body = rotation.canonical().decode()
    root = root_of([leaf_hash(body.encode())])
    note = sign_checkpoint(Checkpoint(origin, 1, root), new)
    only_new = [NoteVerifier(origin, new.public_key())]
    served = [ServedEntry(0, body, None)]
    report = verify_log(origin=origin, verifiers=only_new, note=note, entries=served)
    assert report.ok, report.findings
    view = view_of(did, origin, only_new, report, served)
    assert NoteVerifier(origin, old.public_key()) in view.verifiers
    report.add("entry_altered", "as if an entry had changed", 0)
    assert (
        NoteVerifier(origin, old.public_key())
        not in view_of(did, origin, only_new, report, served).verifiers
    )
