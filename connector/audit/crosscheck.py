"""Checks across logs: do the two sides of each exchange tell the same story?

Each log was verified on its own first (`verifier.verify_log`); this reads the entries of
several logs together, keyed by origin, and adds findings to the report of the log at fault:

- a receipt X holds from Y must match Y's entry at that position (`receipt_mismatch`, or
  `receipt_unmatched` when Y's log does not have it), verify under Y's keys
  (`receipt_unverifiable`, X's fault), and its checkpoint must be a prefix of the tree Y
  shows now (`split_view`: Y signed another history for X; `stale_checkpoint`: Y shows us an
  older checkpoint than one it gave X, a replay);
- every exchange X logged with Y (agreement finalised, transfer started or ended) must be
  vouched for by Y (X holds Y's receipt for the same exchange): if Y's log has no entry for it
  either, Y omitted it (`exchange_omitted`); if it has, the receipt never came
  (`receipt_missing`);
- both sides' records of one agreement must agree on dataset, parties and policy hash
  (`reported_differently`);
- every cosignature a log serves must verify under the witness's keys
  (`cosignature_invalid`) and cover the tree the log serves (`split_view`,
  `stale_checkpoint`);
- a finding one log recorded about a peer (a bad receipt, a checkpoint it would not cosign)
  is reported on that peer (`peer_reported`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connector.audit.checkpoint import Checkpoint, NoteVerifier, verify_checkpoint
from connector.audit.cosignature import verify_cosignature
from connector.audit.errors import AuditError
from connector.audit.merkle import leaf_hash, root_of
from connector.audit.receipts import point_of
from connector.audit.verifier import Report

__all__ = ["LogView", "cross_check"]

_AGREED = ("dataset", "provider", "consumer", "policy_sha256")


@dataclass
class LogView:
    """One verified log, as the cross-checks read it."""

    did: str
    origin: str
    verifiers: Sequence[NoteVerifier]
    bodies: Mapping[int, str]  # seq -> canonical JSON as served
    entries: Mapping[int, Mapping[str, Any]]  # seq -> parsed entry (well-formed ones)
    size: int  # the size of the checkpoint it was verified against
    report: Report
    # (size, root, witness DID, signature line) of the peers' cosignatures it serves
    cosignatures: Sequence[tuple[int, bytes, str, str]] = ()


def _receipts(view: LogView) -> list[tuple[int, Mapping[str, Any]]]:
    out = []
    for seq, entry in sorted(view.entries.items()):
        details = entry.get("details")
        if entry.get("kind") == "audit.receipt" and isinstance(details, Mapping):
            out.append((seq, details))
    return out


def cross_check(views: Sequence[LogView]) -> None:
    # A log with findings of its own already names what changed; recomputing old roots over
    # it would only repeat that as split views.
    clean = {v.origin for v in views if v.report.ok}
    by_origin = {v.origin: v for v in views}
    by_did = {v.did: v for v in views}
    leaves = {v.origin: [leaf_hash(v.bodies[i].encode()) for i in sorted(v.bodies)] for v in views}
    for holder in views:
        for at, details in _receipts(holder):
            giver = by_origin.get(str(details.get("origin")))
            if giver is not None:
                usable = leaves[giver.origin] if giver.origin in clean else None
                _check_receipt(holder, at, details, giver, usable)
    for view in views:
        usable = leaves[view.origin] if view.origin in clean else None
        for cosignature in view.cosignatures:
            _check_cosignature(view, cosignature, by_did, usable)
    for x in views:
        for seq, entry in sorted(x.entries.items()):
            y = by_did.get(str(entry.get("peer")))
            if y is None or y is x:
                continue
            if entry.get("kind") == "audit.finding":
                details = entry.get("details") or {}
                y.report.add(
                    "peer_reported",
                    f"{x.did} recorded in its entry {seq}: {details.get('code')}: "
                    f"{details.get('reason')}",
                )
                continue
            point = point_of(entry)
            if point is not None:
                _check_vouched(x, seq, entry, point, y)
            elif entry.get("kind") == "agreement.signed":
                _check_agreement(x, seq, entry, y)
    _check_deliveries(views, by_origin)


def _check_receipt(
    holder: LogView,
    at: int,
    details: Mapping[str, Any],
    giver: LogView,
    leaves: list[bytes] | None,
) -> None:
    seq = details.get("seq")
    body = details.get("entry")
    if not isinstance(seq, int) or not isinstance(body, str):
        holder.report.add("receipt_unverifiable", f"receipt entry {at} is malformed", at)
        return
    try:
        note = str(details.get("checkpoint"))
        checkpoint = verify_checkpoint(note, giver.origin, giver.verifiers)
    except AuditError as exc:
        holder.report.add(
            "receipt_unverifiable",
            f"receipt entry {at} (from {giver.did}) does not verify under its keys: {exc}",
            at,
        )
        return
    served = giver.bodies.get(seq)
    if served is None:
        giver.report.add(
            "receipt_unmatched",
            f"{holder.did} holds a receipt for entry {seq}, which this log does not serve",
            seq,
        )
    elif served != body:
        giver.report.add(
            "receipt_mismatch",
            f"entry {seq} differs from the receipt this connector gave {holder.did} "
            f"(kept in its entry {at})",
            seq,
        )
    if checkpoint.size > giver.size:
        giver.report.add(
            "stale_checkpoint",
            f"{holder.did} holds a checkpoint of size {checkpoint.size}; this log shows "
            f"only {giver.size}: an old checkpoint replayed, or the log cut back",
        )
    elif (
        leaves is not None
        and len(leaves) >= checkpoint.size
        and root_of(leaves[: checkpoint.size]) != checkpoint.root
    ):
        giver.report.add(
            "split_view",
            f"the checkpoint of size {checkpoint.size} this connector gave {holder.did} "
            "does not match the log it serves: two histories",
        )


def _check_cosignature(
    view: LogView,
    cosignature: tuple[int, bytes, str, str],
    by_did: Mapping[str, LogView],
    leaves: list[bytes] | None,
) -> None:
    size, root, witness, line = cosignature
    other = by_did.get(witness)
    if other is None:
        return  # a witness outside this audit: its keys are not at hand
    keys = [v.public_key for v in other.verifiers]
    try:
        verify_cosignature(line, Checkpoint(view.origin, size, root), witness, keys)
    except AuditError as exc:
        view.report.add("cosignature_invalid", f"the cosignature of {witness} at {size}: {exc}")
        return
    if size > view.size:
        view.report.add(
            "stale_checkpoint",
            f"{witness} cosigned a tree of size {size}; this log shows only {view.size}",
        )
    elif leaves is not None and len(leaves) >= size and root_of(leaves[:size]) != root:
        view.report.add(
            "split_view",
            f"{witness} cosigned another tree of size {size} than this log serves",
        )


def _check_vouched(x: LogView, seq: int, entry: Mapping[str, Any], point: str, y: LogView) -> None:
    subject = entry.get("subject")
    ours = [d for _, d in _receipts(x) if d.get("origin") == y.origin]
    if any(d.get("own_subject") == subject and d.get("point") == point for d in ours):
        return
    # Does y's log know the exchange? Its receipt from x names y's own process.
    theirs = [
        d
        for _, d in _receipts(y)
        if d.get("origin") == x.origin and d.get("peer_subject") == subject
    ]
    own_subjects = {d.get("own_subject") for d in theirs}
    logged = any(
        e.get("subject") in own_subjects and point_of(e) == point for e in y.entries.values()
    )
    where = f"{point.replace('_', ' ')} of {x.did}'s {subject} (its entry {seq})"
    if logged:
        x.report.add("receipt_missing", f"no receipt from {y.did} for the {where}", seq)
    else:
        y.report.add("exchange_omitted", f"this log has no record of the {where}")


def _check_agreement(x: LogView, seq: int, entry: Mapping[str, Any], y: LogView) -> None:
    mine = entry.get("details")
    theirs = [
        e
        for e in y.entries.values()
        if e.get("kind") == "agreement.signed" and e.get("subject") == entry.get("subject")
    ]
    if not theirs:
        y.report.add(
            "exchange_omitted", f"this log has no record of agreement {entry.get('subject')}"
        )
        return
    other = theirs[0].get("details")
    if not isinstance(mine, Mapping) or not isinstance(other, Mapping):
        return
    differs = [k for k in _AGREED if mine.get(k) != other.get(k)]
    if differs and x.did < y.did:  # one finding per pair, on both reports
        message = (
            f"agreement {entry.get('subject')}: {x.did} and {y.did} record different "
            + ", ".join(differs)
        )
        x.report.add("reported_differently", message, seq)
        y.report.add("reported_differently", message)


def _reads(view: LogView, kind: str, subject: str) -> list[tuple[int, str | None]]:
    """(bytes, sha256) of each complete data read of `kind` about one transfer. A push counts
    once per distinct body: an upload the sink took whole but whose answer the provider never
    saw is sent again, the same bytes, and the sink then records it twice."""
    out = []
    pushed = set()
    for entry in view.entries.values():
        details = entry.get("details")
        if entry.get("kind") != kind or entry.get("subject") != subject:
            continue
        if isinstance(details, Mapping) and details.get("complete") is True:
            size, digest = details.get("bytes"), details.get("sha256")
            read = (
                int(size) if isinstance(size, int) else -1,
                digest if isinstance(digest, str) else None,
            )
            if details.get("delivery") == "push":
                pushed.add(read)
            else:
                out.append(read)
    return sorted(out + list(pushed), key=lambda r: (r[0], r[1] or ""))


def _check_deliveries(views: Sequence[LogView], by_origin: Mapping[str, LogView]) -> None:
    """What the provider says it sent under a transfer must be what the consumer says it got:
    the same reads, byte for byte (and hash for hash where both have one). The two sides'
    transfer ids are paired through the receipts the provider holds from the consumer."""
    for provider in views:
        pairs = set()
        for _, d in _receipts(provider):
            consumer = by_origin.get(str(d.get("origin")))
            if consumer is not None and d.get("process") == "transfer":
                pairs.add((consumer.origin, str(d.get("own_subject")), str(d.get("peer_subject"))))
        for origin, ours, theirs in sorted(pairs):
            consumer = by_origin[origin]
            sent = _reads(provider, "data.access", ours)
            got = _reads(consumer, "data.received", theirs)
            if not sent or not got:
                continue
            sizes_differ = [s for s, _ in sent] != [g for g, _ in got]
            hashes_differ = any(
                a and b and a != b for (_, a), (_, b) in zip(sent, got, strict=False)
            )
            if sizes_differ or hashes_differ:
                what = "byte counts" if sizes_differ else "content hashes"
                message = (
                    f"transfer {ours} ({provider.did}) and {theirs} ({consumer.did}) report "
                    f"different {what}: sent {[s for s, _ in sent]}, received {[g for g, _ in got]}"
                )
                provider.report.add("reported_differently", message)
                consumer.report.add("reported_differently", message)
