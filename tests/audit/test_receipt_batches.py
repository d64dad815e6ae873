"""Receipts for one peer in one request: sent as a batch, taken in one transaction, each
receipt's outcome kept apart (two real connectors on loopback)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text

import connector.control.receipt_intake as intake
import tests.audit.exchange as exchanges
from connector.audit.checkpoint import Checkpoint, origin_for, sign_checkpoint
from connector.audit.receipts import BATCH_TYPE, MAX_BATCH, Receipt
from connector.demo.localspace import LocalDataspace, Participant
from connector.errors import PeerError
from connector.identity.keys import SigningKey
from connector.settings import DSP_PATH
from tests.audit.exchange import exchange
from tests.audit.test_receipts import findings_of, verifiers_of
from tests.e2e.peer import token

pytestmark = pytest.mark.anyio

ROUTE = DSP_PATH + "/tsunagu/receipts"


def receipt_requests(p: Participant, status: str | None = None) -> float:
    """How many receipt requests `p` has answered (with `status`, or any)."""
    return sum(
        sample.value
        for metric in p.connector.metrics.registry.collect()
        for sample in metric.samples
        if sample.name == "tsunagu_http_requests_total"
        and sample.labels["route"] == ROUTE
        and sample.labels["method"] == "POST"
        and status in (None, sample.labels["status"])
    )


def logged(p: Participant, kind: str) -> list[dict[str, Any]]:
    entries = [json.loads(e.body) for e in p.connector.receipts.log.entries(0, 10_000)]
    return [e for e in entries if e["kind"] == kind]


async def owed(p: Participant) -> list[tuple[int, str, str, str | None]]:
    await p.connector.store.call(p.connector.store.caught_up)  # its receipts owed are queued
    return await p.connector.store.call(p.connector.receipts.queries.pending)


async def held_back(space: LocalDataspace, monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    """An exchange (agreement, transfer started and ended) whose three receipts `key` still
    owes: its loop is stopped, and `exchange` does not settle them."""
    space[key].connector.receipts.stop()
    monkeypatch.setattr(exchanges, "settled", _nothing)
    await exchange(space)
    assert [state for _seq, _peer, state, _error in await owed(space[key])] == ["pending"] * 3


async def _nothing(*_participants: Participant) -> None:
    return None


async def _post(space: LocalDataspace, body: Any) -> httpx.Response:
    """`body` to the provider's receipts endpoint, as the consumer."""
    async with httpx.AsyncClient() as http:
        return await http.post(
            space["provider"].settings.dsp_base + "/tsunagu/receipts",
            json=body,
            headers={"Authorization": f"Bearer {token(space)}"},
        )


async def test_exchanges_finishing_together_go_to_the_peer_as_one_request(
    space: LocalDataspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, consumer = space["provider"], space["consumer"]
    await held_back(space, monkeypatch, "provider")
    before = receipt_requests(consumer)
    assert await provider.connector.receipts.run_once() == 3
    assert receipt_requests(consumer) == before + 1  # one request carried all three
    assert await owed(provider) == []  # and all three rows are delivered

    # each recorded on the other side, with the entry's bytes as the provider's log holds them
    # and a proof that verifies under the provider's key
    sent = {
        e.seq: e.body
        for e in provider.connector.receipts.log.entries(0, 10_000)
        if '"peer":"' + consumer.did + '"' in e.body
    }
    kept = [e["details"] for e in logged(consumer, "audit.receipt") if e["peer"] == provider.did]
    assert len(kept) == 3
    for details in kept:
        assert details["entry"] == sent[details["seq"]]
        receipt = Receipt.from_json(
            {"type": "tsunagu.receipt/v1"}
            | {k: details[k] for k in ("origin", "seq", "entry", "proof", "checkpoint")}
        )
        receipt.verify(verifiers_of(provider))
    assert len({d["checkpoint"] for d in kept}) == 1  # one checkpoint for the batch


async def test_a_batch_with_bad_receipts_records_the_good_ones_in_one_transaction(
    space: LocalDataspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, consumer = space["provider"], space["consumer"]
    await held_back(space, monkeypatch, "consumer")
    seqs = [seq for seq, *_ in await owed(consumer)]
    good = [
        await consumer.connector.store.call(consumer.connector.receipts.receipt_for, s)
        for s in seqs
    ]
    wrong_key = sign_checkpoint(
        Checkpoint.parse(good[0].checkpoint.split("\n\n")[0] + "\n"), SigningKey.generate("k")
    )
    items: list[tuple[Any, str]] = [
        (good[0].to_json(), "recorded"),
        ({**good[1].to_json(), "checkpoint": wrong_key}, "receipt_invalid"),
        (good[1].to_json(), "recorded"),
        ({**good[2].to_json(), "origin": origin_for(provider.did)}, "receipt_not_theirs"),
        ({**good[2].to_json(), "seq": good[2].seq + 1}, "receipt_invalid"),
        ({"type": "tsunagu.receipt/v1"}, "receipt_malformed"),
        (None, "receipt_malformed"),
        ([good[2].to_json()], "receipt_malformed"),
        (good[2].to_json(), "recorded"),
        (good[0].to_json(), "repeated"),  # twice in one batch: kept once
    ]
    # an entry of the consumer's log that is signed and included, but completes no exchange
    requested = next(
        e.seq
        for e in consumer.connector.receipts.log.entries(0, 10_000)
        if '"kind":"negotiation.transition"' in e.body and '"to":"REQUESTED"' in e.body
    )
    other = await consumer.connector.store.call(consumer.connector.receipts.receipt_for, requested)
    items.append((other.to_json(), "receipt_not_an_exchange"))

    checked: list[str] = []
    verify = intake.verify_checkpoint

    def counted(note: str, origin: str, *args: Any) -> Any:
        if origin == origin_for(consumer.did):  # not the provider's receipts the consumer takes
            checked.append(note)
        return verify(note, origin, *args)

    monkeypatch.setattr(intake, "verify_checkpoint", counted)
    committed = _transactions(provider)
    response = await _post(space, {"type": BATCH_TYPE, "receipts": [body for body, _ in items]})
    committed.stop()

    assert response.status_code == 200, response.text
    outcomes = response.json()["outcomes"]
    assert [o.get("code", o["status"]) for o in outcomes] == [want for _, want in items]
    assert all(o["message"] for o in outcomes if o["status"] == "refused")
    # the good ones recorded in one transaction, one audit.receipt each
    [taken] = [t for t in committed.log if any("audit_receipt" in sql for sql in t)]
    # each process looked up once: the agreement's negotiation, the transfer of both others
    assert len([sql for sql in taken if "peer_pid =" in sql]) == 2
    kept = [e["details"] for e in logged(provider, "audit.receipt") if e["peer"] == consumer.did]
    assert sorted(d["seq"] for d in kept) == sorted(seqs)
    assert [d["entry"] for d in kept] == [r.entry for r in good]
    # each distinct note checked once; the one signed by a key we do not know once more,
    # after the sender's DID document is read again (a rotation?)
    notes = {body["checkpoint"] for body, want in items[:5] + items[-1:]}
    assert sorted(checked) == sorted([*notes, wrong_key])
    # each bad one a finding, in the batch's order
    found = await findings_of(provider)
    assert [f["code"] for f in found] == [w for _, w in items if w.startswith("receipt_")]


async def test_the_sender_settles_each_row_by_the_peers_outcome(
    space: LocalDataspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, consumer = space["provider"], space["consumer"]
    await held_back(space, monkeypatch, "consumer")
    # the provider no longer knows the transfer by the consumer's pid: the two transfer
    # receipts are refused (receipt_unknown_process), the agreement's is recorded
    with provider.connector.store.engine.begin() as db:
        db.execute(text("UPDATE transfer SET peer_pid = 'urn:uuid:elsewhere'"))
    requests = receipt_requests(provider)
    assert await consumer.connector.receipts.run_once() == 3
    assert receipt_requests(provider) == requests + 1
    rows = await owed(consumer)
    assert [state for _, _, state, _ in rows] == ["failed", "failed"]
    assert all("[receipt_unknown_process]" in (error or "") for *_, error in rows)
    undelivered = [e["details"]["seq"] for e in logged(consumer, "audit.receipt_undelivered")]
    assert undelivered == [seq for seq, *_ in rows]
    kept = [e["details"] for e in logged(provider, "audit.receipt") if e["peer"] == consumer.did]
    assert [d["point"] for d in kept] == ["agreement"]
    found = await findings_of(provider)
    assert [f["code"] for f in found] == ["receipt_unknown_process"] * 2


async def test_a_batch_that_does_not_arrive_is_retried_whole(
    space: LocalDataspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer = space["consumer"]
    await held_back(space, monkeypatch, "consumer")
    receipts = consumer.connector.receipts
    sent: list[Any] = []

    async def down(url: str, body: Any, **_kwargs: Any) -> Any:
        sent.append(body)
        raise PeerError(f"{url}: connection refused")

    monkeypatch.setattr(receipts.dispatcher, "send", down)
    assert await receipts.run_once() == 3
    assert len(sent) == 1 and len(sent[0]["receipts"]) == 3
    rows = await owed(consumer)
    assert [(state, "connection refused" in (error or "")) for *_, state, error in rows] == [
        ("pending", True)
    ] * 3
    assert await receipts.run_once() == 0  # each waits for its retry time (backoff)
    assert logged(consumer, "audit.receipt_undelivered") == []


async def test_a_malformed_batch_is_refused_whole_and_changes_nothing(
    space: LocalDataspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, consumer = space["provider"], space["consumer"]
    await held_back(space, monkeypatch, "consumer")
    seq = (await owed(consumer))[0][0]
    good = (
        await consumer.connector.store.call(consumer.connector.receipts.receipt_for, seq)
    ).to_json()
    bodies: list[Any] = [
        {"type": BATCH_TYPE},
        {"type": BATCH_TYPE, "receipts": good},
        {"type": BATCH_TYPE, "receipts": "x"},
        {"type": BATCH_TYPE, "receipts": None},
        {"type": BATCH_TYPE, "receipts": []},
        {"type": BATCH_TYPE, "receipts": [good] * (MAX_BATCH + 1)},
        {"type": BATCH_TYPE, "receipts": [good], "more": 1},
        {"type": "tsunagu.receipts/v2", "receipts": [good]},
        {"receipts": [good]},
        {"type": BATCH_TYPE, "receipts": {"0": good}},
    ]
    entries = provider.connector.receipts.log.size()
    refused = receipt_requests(provider, "400")
    for body in bodies:
        response = await _post(space, body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["code"] == "receipt_malformed"
    await provider.connector.store.call(provider.connector.store.caught_up)
    assert provider.connector.receipts.log.size() == entries  # no receipt, no finding
    assert await findings_of(provider) == []
    assert receipt_requests(provider, "400") == refused + len(bodies)


class _transactions:
    """The statements of each transaction `p`'s engine commits, until `stop`."""

    def __init__(self, p: Participant) -> None:
        self.engine = p.connector.store.engine
        self.log: list[list[str]] = []
        self._open: dict[int, list[str]] = {}
        self.hooks = [
            ("begin", self._began),
            ("before_cursor_execute", self._statement),
            ("commit", self._commit),
        ]
        for name, hook in self.hooks:
            event.listen(self.engine, name, hook)

    def _began(self, connection: Any) -> None:
        self._open[id(connection)] = []

    def _statement(self, connection: Any, _cursor: Any, sql: str, *_: Any) -> None:
        self._open.setdefault(id(connection), []).append(sql)

    def _commit(self, connection: Any) -> None:
        self.log.append(self._open.pop(id(connection), []))

    def stop(self) -> None:
        for name, hook in self.hooks:
            event.remove(self.engine, name, hook)
