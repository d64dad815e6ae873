"""Verification across logs, on logs built in memory: each side's receipts against the other
side's entries, exchanges one side omitted or reported differently, split views and replayed
checkpoints."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connector.audit.checkpoint import Checkpoint, NoteVerifier, origin_for, sign_checkpoint
from connector.audit.client import view_of
from connector.audit.crosscheck import LogView, cross_check
from connector.audit.entries import Entry
from connector.audit.merkle import MemoryTree
from connector.audit.verifier import ServedEntry, verify_log
from connector.identity.keys import SigningKey

AT = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
A, B = "did:web:a.example", "did:web:b.example"


@dataclass
class Log:
    did: str
    key: SigningKey = field(default_factory=lambda: SigningKey.generate("k"))
    entries: list[Entry] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return origin_for(self.did)

    def add(self, kind: str, subject: str, peer: str, details: dict[str, Any]) -> int:
        seq = len(self.entries)
        self.entries.append(Entry(seq, AT, kind, subject, peer, details))
        return seq

    def transition(self, subject: str, peer: str, role: str, frm: str, to: str) -> int:
        process = "negotiation" if to in ("FINALIZED", "VERIFIED") else "transfer"
        details = {"role": role, "direction": "inbound", "message": "M", "from": frm, "to": to}
        return self.add(f"{process}.transition", subject, peer, {"event": 0, **details})

    def tree(self, size: int | None = None) -> MemoryTree:
        return MemoryTree(e.leaf_hash() for e in self.entries[:size])

    def note(self, size: int | None = None) -> str:
        size = len(self.entries) if size is None else size
        root = self.tree(size).root()
        return sign_checkpoint(Checkpoint(self.origin, size, root), self.key)

    def receipt(self, seq: int, size: int | None = None) -> dict[str, Any]:
        """What the holder records of this log's receipt for entry `seq`."""
        size = len(self.entries) if size is None else size
        proof = self.tree(size).inclusion_proof(seq, size)
        return {
            "origin": self.origin,
            "seq": seq,
            "entry": self.entries[seq].canonical().decode(),
            "proof": [base64.b64encode(h).decode() for h in proof],
            "checkpoint": self.note(size),
        }

    def vouch(self, holder: Log, seq: int, own_subject: str, point: str) -> None:
        """`holder` records this log's receipt for `seq` (about `holder`'s `own_subject`)."""
        details = {
            **self.receipt(seq),
            "own_subject": own_subject,
            "process": self.entries[seq].kind.partition(".")[0],
            "point": point,
            "peer_subject": self.entries[seq].subject,
        }
        holder.add("audit.receipt", f"{self.origin}#{seq}", self.did, details)

    def verifiers(self) -> list[NoteVerifier]:
        return [NoteVerifier(self.origin, self.key.public_key())]

    def view(self, bodies: Iterable[str] | None = None, note: str | None = None) -> LogView:
        served = [
            ServedEntry(i, body, None)
            for i, body in enumerate(bodies or (e.canonical().decode() for e in self.entries))
        ]
        note = note or self.note()
        report = verify_log(
            origin=self.origin, verifiers=self.verifiers(), note=note, entries=served
        )
        return view_of(self.did, self.origin, self.verifiers(), report, served)


def exchanged() -> tuple[Log, Log]:
    """A (provider) and B (consumer) agree and B starts a transfer; each vouches for the
    other's entries, as the connectors do."""
    a, b = Log(A), Log(B)
    policy = {"dataset": "urn:ds", "provider": A, "consumer": B, "policy_sha256": "ab" * 32}
    a.add("agreement.signed", "urn:agreement", B, {"event": 0, "negotiation": "n", **policy})
    b.add("agreement.signed", "urn:agreement", A, {"event": 0, "negotiation": "m", **policy})
    a_fin = a.transition("urn:a-neg", B, "provider", "VERIFIED", "FINALIZED")
    b_fin = b.transition("urn:b-neg", A, "consumer", "VERIFIED", "FINALIZED")
    a_start = a.transition("urn:a-tr", B, "provider", "REQUESTED", "STARTED")
    b_start = b.transition("urn:b-tr", A, "consumer", "REQUESTED", "STARTED")
    a.vouch(b, a_fin, "urn:b-neg", "agreement")
    b.vouch(a, b_fin, "urn:a-neg", "agreement")
    a.vouch(b, a_start, "urn:b-tr", "transfer_started")
    b.vouch(a, b_start, "urn:a-tr", "transfer_started")
    return a, b


def codes(view: LogView) -> list[str]:
    return view.report.codes()


def test_two_sides_that_vouch_for_each_other_are_clean() -> None:
    a, b = exchanged()
    views = [a.view(), b.view()]
    cross_check(views)
    assert [codes(v) for v in views] == [[], []]


def test_an_exchange_one_side_omitted_is_found_on_that_side() -> None:
    a = Log(A)
    b = Log(B)
    a_start = a.transition("urn:a-tr", B, "provider", "REQUESTED", "STARTED")
    a.vouch(b, a_start, "urn:b-tr", "transfer_started")  # b got a's receipt ...
    views = [a.view(), b.view()]  # ... but logged no start of its own, and vouched for none
    cross_check(views)
    assert codes(views[0]) == []
    assert codes(views[1]) == ["exchange_omitted"]
    assert "transfer started" in views[1].report.findings[0].message


def test_a_receipt_that_never_arrived_is_not_an_omission() -> None:
    a, b = Log(A), Log(B)
    a_start = a.transition("urn:a-tr", B, "provider", "REQUESTED", "STARTED")
    b_start = b.transition("urn:b-tr", A, "consumer", "REQUESTED", "STARTED")
    a.vouch(b, a_start, "urn:b-tr", "transfer_started")
    del b_start  # b's receipt for its start never reached a
    views = [a.view(), b.view()]
    cross_check(views)
    assert codes(views[0]) == ["receipt_missing"] and codes(views[1]) == []


def test_a_side_reporting_the_agreement_differently_is_found() -> None:
    a, b = exchanged()
    b.entries[0] = Entry(
        0,
        AT,
        "agreement.signed",
        "urn:agreement",
        A,
        {**b.entries[0].details, "policy_sha256": "cd" * 32},
    )
    # b re-signs its (self-consistent) log: only the comparison with a shows the difference
    views = [a.view(), b.view()]
    cross_check(views)
    assert "reported_differently" in codes(views[0]) and "reported_differently" in codes(views[1])


def test_an_entry_that_differs_from_the_receipt_its_log_gave_is_named() -> None:
    a, b = exchanged()
    holder_receipts = [e for e in b.entries if e.kind == "audit.receipt"]
    seq = holder_receipts[0].details["seq"]
    # a rewrites its entry and signs the new tree: self-consistent, but not what b was given
    original = a.entries[seq]
    a.entries[seq] = Entry(
        seq, AT, original.kind, original.subject, B, {**original.details, "to": "TERMINATED"}
    )
    views = [a.view(), b.view()]
    cross_check(views)
    assert ("receipt_mismatch", seq) in {(f.code, f.seq) for f in views[0].report.findings}
    assert "split_view" in codes(views[0])  # b's checkpoint of a is not a's tree any more


def test_two_checkpoints_shown_to_two_parties_are_a_split_view() -> None:
    a, b = exchanged()
    honest = a.view()
    # a shows the auditor a different history of the same size under the same key
    forked = Log(A, key=a.key, entries=list(a.entries))
    first = forked.entries[0]  # not itself in a receipt, but under the checkpoints b holds
    forked.entries[0] = Entry(0, AT, first.kind, first.subject, B, {**first.details, "x": 1})
    views = [forked.view(), b.view()]
    cross_check(views)
    assert honest.report.ok and views[0].report.findings[0].code == "split_view"
    assert codes(views[0]) == ["split_view", "split_view"]  # both receipts b holds of a


def test_a_replayed_old_checkpoint_is_stale_against_what_a_peer_holds() -> None:
    a, b = exchanged()
    old = a.note(2)  # a checkpoint a signed before the receipts b holds
    served = [e.canonical().decode() for e in a.entries]
    views = [a.view(served, note=old), b.view()]
    cross_check(views)
    assert "stale_checkpoint" in codes(views[0])


def test_a_receipt_signed_by_the_wrong_key_is_unverifiable() -> None:
    a, b = exchanged()
    impostor = Log(A)  # same origin, another key
    impostor.entries = list(a.entries)
    index = next(i for i, e in enumerate(b.entries) if e.kind == "audit.receipt")
    e = b.entries[index]
    b.entries[index] = Entry(
        e.seq, AT, e.kind, e.subject, e.peer, {**e.details, "checkpoint": impostor.note()}
    )
    views = [a.view(), b.view()]
    cross_check(views)
    assert ("receipt_unverifiable", index) in {(f.code, f.seq) for f in views[1].report.findings}


def _read(log: Log, kind: str, subject: str, peer: str, size: int, digest: str) -> None:
    details = {"event": 0, "agreement": "urn:agreement", "path": "", "bytes": size}
    log.add(kind, subject, peer, {**details, "sha256": digest, "complete": True})


def test_the_same_delivery_on_both_sides_is_clean_and_a_different_byte_count_is_not() -> None:
    a, b = exchanged()
    _read(a, "data.access", "urn:a-tr", B, 1226, "ff" * 32)
    _read(b, "data.received", "urn:b-tr", A, 1226, "ff" * 32)
    views = [a.view(), b.view()]
    cross_check(views)
    assert [codes(v) for v in views] == [[], []]

    a, b = exchanged()
    _read(a, "data.access", "urn:a-tr", B, 1226, "ff" * 32)
    _read(b, "data.received", "urn:b-tr", A, 313, "ff" * 32)  # b says it got less
    views = [a.view(), b.view()]
    cross_check(views)
    assert codes(views[0]) == codes(views[1]) == ["reported_differently"]
    assert "byte counts" in views[0].report.findings[0].message

    a, b = exchanged()
    _read(a, "data.access", "urn:a-tr", B, 10, "ff" * 32)
    _read(b, "data.received", "urn:b-tr", A, 10, "ee" * 32)  # same size, other content
    views = [a.view(), b.view()]
    cross_check(views)
    assert "content hashes" in views[1].report.findings[0].message


def _pushed(log: Log, kind: str, subject: str, peer: str, size: int, digest: str) -> None:
    details = {"event": 0, "agreement": "urn:agreement", "path": "", "bytes": size}
    log.add(
        kind, subject, peer, {**details, "sha256": digest, "complete": True, "delivery": "push"}
    )


def test_a_push_the_sink_took_twice_is_one_delivery_and_a_different_count_is_found() -> None:
    a, b = exchanged()
    _pushed(a, "data.access", "urn:a-tr", B, 1226, "ff" * 32)
    _pushed(b, "data.received", "urn:b-tr", A, 1226, "ff" * 32)
    _pushed(b, "data.received", "urn:b-tr", A, 1226, "ff" * 32)  # the upload sent again
    views = [a.view(), b.view()]
    cross_check(views)
    assert [codes(v) for v in views] == [[], []]

    a, b = exchanged()
    _pushed(a, "data.access", "urn:a-tr", B, 1226, "ff" * 32)
    _pushed(b, "data.received", "urn:b-tr", A, 1000, "ff" * 32)  # the sink says it got less
    views = [a.view(), b.view()]
    cross_check(views)
    assert codes(views[0]) == codes(views[1]) == ["reported_differently"]
    assert "byte counts" in views[1].report.findings[0].message


def test_an_entry_with_an_impossible_time_is_malformed_not_a_crash() -> None:
    a = Log(A)
    a.transition("urn:a-tr", B, "provider", "REQUESTED", "STARTED")
    body = a.entries[0].canonical().decode().replace("2026-04-01T", "2026-13-41T")
    view = a.view([body])
    assert ("entry_malformed", 0) in {(f.code, f.seq) for f in view.report.findings}
