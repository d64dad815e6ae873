"""Receipts between two real connectors, auditor access, and verification across logs."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from connector.audit.checkpoint import Checkpoint, NoteVerifier, origin_for, sign_checkpoint
from connector.audit.client import AuditReader, verify_connectors
from connector.audit.crosscheck import LogView
from connector.audit.receipts import Receipt
from connector.demo.localspace import LocalDataspace, Participant
from connector.identity.keys import SigningKey
from connector.identity.tokens import issue_id_token
from tests.audit.exchange import exchange
from tests.e2e.peer import token

pytestmark = pytest.mark.anyio


def as_auditor(space: LocalDataspace, audience: str, key: str = "auditor") -> Any:
    auditor = space[key]

    def make() -> str:
        return issue_id_token(
            auditor.connector.keys.active,
            issuer=auditor.did,
            audience=audience,
            credential=auditor.settings.credential(),
            now=auditor.connector.clock(),
        )

    return make


def verifiers_of(p: Participant) -> list[NoteVerifier]:
    return [NoteVerifier(origin_for(p.did), k.public_key()) for k in p.connector.keys.published()]


async def audit(space: LocalDataspace, http: httpx.AsyncClient, *keys: str) -> list[LogView]:
    logs = []
    for key in keys:
        p = space[key]
        await http.post(
            p.settings.public_url + "/audit/checkpoint",
            headers={"Authorization": f"Bearer {p.settings.management_token}"},
        )
        reader = AuditReader(http, p.settings.public_url, as_auditor(space, p.did))
        logs.append((p.did, reader, verifiers_of(p)))
    return await verify_connectors(logs)


def kinds(view: LogView) -> list[str]:
    return [str(e["kind"]) for e in view.entries.values()]


async def test_both_sides_vouch_for_each_exchange_and_an_auditor_verifies_them(
    space: LocalDataspace,
) -> None:
    await exchange(space)
    async with httpx.AsyncClient() as http:
        views = await audit(space, http, "provider", "consumer")
    for view in views:
        assert view.report.ok, view.report.findings
        # agreement, transfer started, transfer ended: a receipt from the other side for each
        assert kinds(view).count("audit.receipt") == 3
        assert kinds(view).count("agreement.signed") == 1
    provider, consumer = views
    [mine] = [e for e in provider.entries.values() if e["kind"] == "agreement.signed"]
    [theirs] = [e for e in consumer.entries.values() if e["kind"] == "agreement.signed"]
    assert mine["details"]["policy_sha256"] == theirs["details"]["policy_sha256"]
    # and each read of the auditor is in the log it read (after the checkpoint it read)
    async with httpx.AsyncClient() as http:
        reader = AuditReader(http, space["provider"].settings.public_url, "x")
        reader.token = space["provider"].settings.management_token
        _size, served = await reader.entries()
    reads = [json.loads(e.body) for e in served if '"audit.read"' in e.body]
    assert reads and {r["peer"] for r in reads} == {space["auditor"].did}


async def test_an_auditor_needs_the_auditor_role_and_the_connectors_leave(
    space: LocalDataspace,
) -> None:
    base = space["provider"].settings.public_url + "/audit/entries"
    async with httpx.AsyncClient() as http:
        ok = await http.get(
            base, headers={"Authorization": f"Bearer {as_auditor(space, space['provider'].did)()}"}
        )
        assert ok.status_code == 200
        # C村 is a municipality, not an auditor, and not on the list either
        other = as_auditor(space, space["provider"].did, key="consumer")()
        refused = await http.get(base, headers={"Authorization": f"Bearer {other}"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "auditor_not_allowed"
        forged = await http.get(base, headers={"Authorization": "Bearer a.b.c"})
        assert forged.status_code == 401


async def _post_receipt(space: LocalDataspace, body: Any) -> httpx.Response:
    provider = space["provider"]
    async with httpx.AsyncClient() as http:
        return await http.post(
            provider.settings.dsp_base + "/tsunagu/receipts",
            json=body,
            headers={"Authorization": f"Bearer {token(space)}"},
        )


async def findings_of(p: Participant) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        reader = AuditReader(http, p.settings.public_url, p.settings.management_token)
        _size, served = await reader.entries()
    entries = [json.loads(e.body) for e in served]
    return [e["details"] for e in entries if e["kind"] == "audit.finding"]


async def a_good_receipt(space: LocalDataspace) -> Receipt:
    """The consumer's receipt for its FINALIZED entry, as it sent it."""
    consumer = space["consumer"].connector
    seq = next(
        e.seq
        for e in consumer.receipts.log.entries(0, 1000)
        if '"to":"FINALIZED"' in e.body and "negotiation.transition" in e.body
    )
    return consumer.receipts.receipt_for(seq)


async def test_a_bad_receipt_is_refused_and_kept_as_a_finding(space: LocalDataspace) -> None:
    await exchange(space)
    good = await a_good_receipt(space)
    again = await _post_receipt(space, good.to_json())
    assert again.status_code == 200 and again.json() == {"status": "repeated"}

    wrong_key = SigningKey.generate("k")
    forged = Receipt(
        good.origin,
        good.seq,
        good.entry,
        good.proof,
        sign_checkpoint(Checkpoint.parse(good.checkpoint.split("\n\n")[0] + "\n"), wrong_key),
    )
    cases: list[tuple[Any, str]] = [
        ({"type": "tsunagu.receipt/v1"}, "receipt_malformed"),
        ({**good.to_json(), "proof": ["not base64!"]}, "receipt_malformed"),
        ({**good.to_json(), "proof": []}, "receipt_invalid"),
        ({**good.to_json(), "seq": good.seq + 1}, "receipt_invalid"),
        ({**good.to_json(), "origin": origin_for(space["provider"].did)}, "receipt_not_theirs"),
        ({**good.to_json(), "checkpoint": "no note"}, "receipt_invalid"),
        (forged.to_json(), "receipt_invalid"),
        ([1, 2, 3], "receipt_malformed"),
    ]
    for body, code in cases:
        response = await _post_receipt(space, body)
        assert response.status_code == 400, (code, response.text)
        assert response.json()["code"] == code  # a DSP error object, as peers get
    found = await findings_of(space["provider"])
    assert [f["code"] for f in found] == [code for _, code in cases]
    # and the connector carries on: its log still verifies; the auditor sees what it recorded
    async with httpx.AsyncClient() as http:
        provider_view, consumer_view = await audit(space, http, "provider", "consumer")
    assert provider_view.report.ok, provider_view.report.findings
    assert consumer_view.report.codes() == ["peer_reported"] * len(cases)


async def test_a_receipt_received_is_taken_in_one_transaction(space: LocalDataspace) -> None:
    """Our process is looked up and the receipt kept in one transaction, not one each."""
    from sqlalchemy import event

    await exchange(space)
    good = await a_good_receipt(space)
    engine = space["provider"].connector.store.engine
    sent: dict[int, list[str]] = {}  # per connection: the statements of its transaction
    committed: list[list[str]] = []

    def began(connection: Any) -> None:
        sent[id(connection)] = []

    def statement(connection: Any, _cursor: Any, sql: str, *_: Any) -> None:
        sent.setdefault(id(connection), []).append(sql)

    def commit(connection: Any) -> None:
        committed.append(sent.pop(id(connection), []))

    hooks = [("begin", began), ("before_cursor_execute", statement), ("commit", commit)]
    for name, hook in hooks:
        event.listen(engine, name, hook)
    try:
        again = await _post_receipt(space, good.to_json())
    finally:
        for name, hook in hooks:
            event.remove(engine, name, hook)
    assert again.status_code == 200 and again.json() == {"status": "repeated"}
    lookups = [t for t in committed if any("peer_pid =" in sql for sql in t)]
    receipts = [t for t in committed if any("audit_receipt" in sql for sql in t)]
    assert len(receipts) == 1 and receipts == lookups


async def test_an_altered_entry_is_named_and_its_receipt_disagrees(space: LocalDataspace) -> None:
    await exchange(space)
    consumer = space["consumer"]
    seq = (await a_good_receipt(space)).seq
    with consumer.connector.store.engine.begin() as db:
        body = db.execute(text("SELECT body FROM audit_entry WHERE seq = :s"), {"s": seq}).scalar()
        db.execute(
            text("UPDATE audit_entry SET body = :b WHERE seq = :s"),
            {"b": body.replace("FINALIZED", "TERMINATED"), "s": seq},
        )
    async with httpx.AsyncClient() as http:
        provider_view, consumer_view = await audit(space, http, "provider", "consumer")
    assert provider_view.report.ok
    codes = {(f.code, f.seq) for f in consumer_view.report.findings}
    assert ("entry_altered", seq) in codes
    assert ("receipt_mismatch", seq) in codes  # the provider holds what it said at the time


async def test_peers_cosign_each_others_checkpoints_and_refuse_a_fork(
    space: LocalDataspace,
) -> None:
    await exchange(space)
    provider, consumer = space["provider"], space["consumer"]
    async with httpx.AsyncClient() as http:
        views = await audit(space, http, "provider", "consumer")
    for view, witness in zip(views, (consumer, provider), strict=True):
        assert view.report.ok, view.report.findings
        assert {c[2] for c in view.cosignatures} == {witness.did}  # verified in the audit

    # the consumer shows the provider a second history of a size the provider cosigned
    witnessed = await provider.connector.store.call(
        provider.connector.receipts.queries.witnessed, origin_for(consumer.did)
    )
    assert witnessed is not None and witnessed.size > 0
    forked = sign_checkpoint(
        Checkpoint(origin_for(consumer.did), witnessed.size, bytes(32)),
        consumer.connector.keys.active,
    )
    url = provider.settings.dsp_base + "/tsunagu/witness"

    async def ask(body: Any) -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await http.post(
                url, json=body, headers={"Authorization": f"Bearer {token(space)}"}
            )

    stale = await ask({"old": 0, "proof": [], "checkpoint": forked})
    assert stale.json() == {"status": "conflict", "size": witnessed.size}
    fork = await ask({"old": witnessed.size, "proof": [], "checkpoint": forked})
    assert fork.status_code == 400 and fork.json()["code"] == "witness_fork"
    bigger = sign_checkpoint(
        Checkpoint(origin_for(consumer.did), witnessed.size + 5, bytes(32)),
        consumer.connector.keys.active,
    )
    bad = await ask({"old": witnessed.size, "proof": [], "checkpoint": bigger})
    assert bad.status_code == 400 and bad.json()["code"] == "witness_inconsistent"
    for body in ({"old": -1, "proof": [], "checkpoint": forked}, {"checkpoint": "x"}, []):
        malformed = await ask(body)
        assert malformed.status_code == 400 and malformed.json()["code"] == "witness_malformed"
    found = await findings_of(provider)
    assert [f["code"] for f in found] == ["witness_fork", "witness_inconsistent"]
    assert all(f["checkpoint"] in (forked, bigger) for f in found)  # the evidence is kept
    async with httpx.AsyncClient() as http:
        _provider_view, consumer_view = await audit(space, http, "provider", "consumer")
    assert consumer_view.report.codes() == ["peer_reported", "peer_reported"]


async def test_receipts_sent_together_ask_the_peer_to_witness_once(
    space: LocalDataspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The receipts of one batch share a checkpoint: the peer is asked to cosign it once,
    the newest one, not once per receipt (each a signature check and a commit on its side)."""
    provider, consumer = space["provider"], space["consumer"]
    receipts = provider.connector.receipts
    receipts.stop()  # its loop ends: the receipts owed pile up until `exchange` sends them
    sent: list[tuple[str, Any]] = []
    send = receipts.dispatcher.send

    async def watched(url: str, body: Any, **kwargs: Any) -> Any:
        sent.append((url.rsplit("/", 1)[-1], body))
        return await send(url, body, **kwargs)

    monkeypatch.setattr(receipts.dispatcher, "send", watched)
    await exchange(space)
    given = [
        Receipt.from_json(r) for path, body in sent if path == "receipts" for r in body["receipts"]
    ]
    asked = [body for path, body in sent if path == "witness"]
    assert len(given) == 3 and len(asked) == 1
    newest = max(Checkpoint.parse(r.checkpoint.split("\n\n")[0] + "\n").size for r in given)
    witnessed = await consumer.connector.store.call(
        consumer.connector.receipts.queries.witnessed, origin_for(provider.did)
    )
    assert witnessed is not None and witnessed.size == newest

    # Within the interval, the next batch's checkpoint waits; once it is over, the newest goes.
    receipts.witness_interval = 3600.0
    witness_now = receipts.witness_now
    monkeypatch.setattr(receipts, "witness_now", _nothing)  # `exchange` would ask at once
    await exchange(space, first=False)
    assert [path for path, _ in sent].count("witness") == 1
    receipts.witness_interval = 0.0
    await receipts.run_once()
    await witness_now()  # nothing left: run_once asked
    asked = [body for path, body in sent if path == "witness"]
    given = [
        Receipt.from_json(r) for path, body in sent if path == "receipts" for r in body["receipts"]
    ]
    newest = max(Checkpoint.parse(r.checkpoint.split("\n\n")[0] + "\n").size for r in given)
    assert len(given) == 6 and len(asked) == 2
    witnessed = await consumer.connector.store.call(
        consumer.connector.receipts.queries.witnessed, origin_for(provider.did)
    )
    assert witnessed is not None and witnessed.size == newest


async def _nothing() -> None:
    return None
