"""Verify a connector's audit log from what its API serves, trusting none of it.

Trusted input is only the log's origin and its verifier keys (pinned out of band, e.g. from the
connector's DID document) and the checkpoint this verifier saw last time. From the served
checkpoint, entries and proofs it checks:

- the checkpoint's signature and origin;
- every entry up to the checkpoint's size: present once, at the position its own `seq` names,
  well-formed, canonical, and hashing to the leaf the log's tree holds;
- the root recomputed from the entries equals the signed root (so nothing was changed,
  dropped, reordered or inserted below the checkpoint);
- inclusion proofs it was given (they name which entry no longer fits the signed tree);
- consistency with the previous checkpoint: not smaller (truncation), not the same size with
  another root (a fork), and a valid consistency proof between the two;
- that the checkpoint is signed by the key the log's last key rotation below it announced
  (`key_rotation`);
- that every access the log records as allowed stayed within its agreement's time window and
  count limit (`agreed_use`).

Every problem is a `Finding` with a code and, where it has one, the entry's sequence number;
the report is clean when there are none. A size-0 previous checkpoint commits to nothing, so
there is nothing to be consistent with (see `merkle`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from connector.audit.agreed_use import KINDS as AGREED_USE_KINDS
from connector.audit.agreed_use import check_agreed_use
from connector.audit.checkpoint import Checkpoint, NoteVerifier, verify_checkpoint
from connector.audit.entries import Entry, canonical_json
from connector.audit.errors import AuditError, EntryError, ProofError
from connector.audit.key_rotation import ROTATED, check_key_rotations
from connector.audit.merkle import leaf_hash, root_of, verify_consistency, verify_inclusion

__all__ = ["Finding", "Report", "ServedEntry", "verify_log"]

# The kinds `key_rotation` and `agreed_use` read.
_REDECIDED = frozenset({ROTATED, *AGREED_USE_KINDS})


@dataclass(frozen=True)
class ServedEntry:
    seq: int  # the position the log serves it at
    body: str  # the canonical JSON, as served
    leaf_hash: bytes | None  # the tree's leaf, as served (None when it has none)


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    seq: int | None = None


@dataclass
class Report:
    origin: str
    checkpoint: Checkpoint | None = None
    note: str = ""  # the signed note of `checkpoint`, as served
    entries_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def add(self, code: str, message: str, seq: int | None = None) -> None:
        self.findings.append(Finding(code, message, seq))


def verify_log(
    *,
    origin: str,
    verifiers: Sequence[NoteVerifier],
    note: str,
    entries: Sequence[ServedEntry],
    tree_size: int | None = None,
    inclusion: Mapping[int, Sequence[bytes]] | None = None,
    previous: Checkpoint | None = None,
    consistency: Sequence[bytes] | None = None,
) -> Report:
    """Check a log as served. `tree_size` is the size the log says it has now (entries beyond
    the checkpoint are listed but not yet covered); `inclusion` maps seq -> proof against the
    checkpoint; `consistency` is the proof from `previous` to the checkpoint."""
    report = Report(origin)
    try:
        checkpoint = verify_checkpoint(note, origin, verifiers)
    except AuditError as exc:
        report.add("checkpoint_invalid", f"{exc.code}: {exc}")
        return report
    report.checkpoint = checkpoint
    report.note = note
    size = checkpoint.size
    parsed: dict[int, Entry] = {}
    leaves = _check_entries(report, entries, size, tree_size, parsed)
    check_key_rotations(report, note=note, size=size, verifiers=verifiers, entries=parsed)
    check_agreed_use(report, parsed)
    if len(leaves) == size:
        ordered = [leaves[i] for i in range(size)]
        if root_of(ordered) != checkpoint.root:
            report.add("root_mismatch", f"the entries do not hash to the signed root of {size}")
    for seq, proof in sorted((inclusion or {}).items()):
        leaf = leaves.get(seq)
        if leaf is None:
            continue  # already a finding: missing or malformed
        try:
            verify_inclusion(seq, size, leaf, proof, checkpoint.root)
        except ProofError as exc:
            report.add("inclusion_failed", f"entry {seq} is not in the signed tree: {exc}", seq)
    if previous is not None:
        _check_consistency(report, previous, checkpoint, consistency, leaves)
    return report


def _check_entries(
    report: Report,
    entries: Sequence[ServedEntry],
    size: int,
    tree_size: int | None,
    parsed: dict[int, Entry],
) -> dict[int, bytes]:
    """Per-entry checks; returns the recomputed leaf hash of each position below `size`
    (and puts each well-formed entry below it that a later check re-decides in `parsed`:
    only those, so a long log's entries are not all kept in memory)."""
    leaves: dict[int, bytes] = {}
    seen: set[int] = set()
    for served in entries:
        seq = served.seq
        if seq in seen:
            report.add("entry_duplicate", f"two entries at position {seq}", seq)
            continue
        seen.add(seq)
        body = served.body.encode()
        leaf = leaf_hash(body)
        if served.leaf_hash is not None and served.leaf_hash != leaf:
            report.add("entry_altered", f"entry {seq} does not hash to its leaf in the log", seq)
        try:
            try:
                data = json.loads(body)
            except (ValueError, RecursionError) as exc:
                raise EntryError(f"an entry is not JSON: {exc}") from exc
            entry = Entry.from_json(data)
            # One parse: a well-formed entry's own JSON is what to_json() would rebuild.
            if canonical_json(data) != body:
                report.add("entry_not_canonical", f"entry {seq} is not canonical JSON", seq)
            if entry.seq != seq:
                report.add(
                    "entry_out_of_place", f"entry {entry.seq} is served at position {seq}", seq
                )
            elif seq < size and entry.kind in _REDECIDED:
                parsed[seq] = entry
        except AuditError as exc:
            report.add("entry_malformed", f"entry {seq}: {exc}", seq)
        if seq >= size:
            if tree_size is not None and seq >= tree_size:
                report.add("entry_outside_tree", f"entry {seq} is beyond the log's tree", seq)
            continue  # not covered by this checkpoint yet
        leaves[seq] = leaf
        report.entries_checked += 1
    for seq in range(size):
        if seq not in seen:
            report.add("entry_missing", f"entry {seq} is missing", seq)
    if tree_size is not None and tree_size < size:
        report.add("log_truncated", f"the log has {tree_size} entries, its checkpoint {size}")
    return leaves


def _check_consistency(
    report: Report,
    previous: Checkpoint,
    checkpoint: Checkpoint,
    proof: Sequence[bytes] | None,
    leaves: Mapping[int, bytes],
) -> None:
    if previous.origin != checkpoint.origin:
        report.add("checkpoint_invalid", "the previous checkpoint is of another log")
        return
    old, new = previous.size, checkpoint.size
    if old > new:
        report.add("log_truncated", f"the log shrank from {old} to {new} entries since last time")
        return
    if old == 0:
        return
    if old == new:
        if previous.root != checkpoint.root:
            report.add("fork", f"two signed roots for size {old}")
        return
    try:
        verify_consistency(old, new, previous.root, checkpoint.root, proof or [])
    except ProofError as exc:
        report.add("inconsistent", f"checkpoint {new} does not extend checkpoint {old}: {exc}")
    if all(i in leaves for i in range(old)):
        if root_of([leaves[i] for i in range(old)]) != previous.root:
            report.add("history_rewritten", f"the first {old} entries changed since last time")
