"""Exports of a log: JSON Lines with proofs, verifiable offline.

    {"type": "tsunagu.audit-export/v1", "origin": "...", "checkpoint": "<signed note>",
     "vkeys": ["..."]}
    {"seq": 0, "entry": "<canonical JSON>", "proof": ["base64", ...]}
    ...

The first line is the header: the log's origin, the signed checkpoint the export is cut at,
and the verifier keys the log published (informative only: a verifier pins its own). Each
further line is one entry below the checkpoint's size with its inclusion proof against that
checkpoint, so a single line can be checked alone, and the whole file like a served log.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from connector.audit.checkpoint import Checkpoint
from connector.audit.errors import AuditError
from connector.audit.merkle import HASH_SIZE, MemoryTree, leaf_hash
from connector.audit.verifier import ServedEntry

__all__ = ["EXPORT_TYPE", "Export", "read_export", "write_export"]

EXPORT_TYPE = "tsunagu.audit-export/v1"


class ExportError(AuditError):
    code = "export_malformed"


@dataclass(frozen=True)
class Export:
    origin: str
    note: str
    vkeys: tuple[str, ...]
    entries: tuple[ServedEntry, ...]
    proofs: dict[int, list[bytes]]


def write_export(
    origin: str, note: str, vkeys: Sequence[str], entries: Sequence[ServedEntry]
) -> Iterator[str]:
    """The lines of an export cut at `note`'s checkpoint (entries beyond it are left out)."""
    size = Checkpoint.parse(note.split("\n\n")[0] + "\n").size
    covered = sorted((e for e in entries if e.seq < size), key=lambda e: e.seq)
    tree = MemoryTree(leaf_hash(e.body.encode()) for e in covered)
    header = {"type": EXPORT_TYPE, "origin": origin, "checkpoint": note, "vkeys": list(vkeys)}
    yield json.dumps(header, ensure_ascii=False)
    exact = len(covered) == size and all(e.seq == i for i, e in enumerate(covered))
    for e in covered:
        # Proofs come from the entries themselves; a log with gaps exports none (its
        # verification fails anyway, and says where).
        proof = tree.inclusion_proof(e.seq, size) if exact else []
        line = {
            "seq": e.seq,
            "entry": e.body,
            "proof": [base64.b64encode(h).decode() for h in proof],
        }
        yield json.dumps(line, ensure_ascii=False)


def _bad(number: int, what: str) -> ExportError:
    return ExportError(f"line {number}: {what}")


def read_export(lines: Iterable[str]) -> Export:
    """Parse an export strictly; ExportError names the line that is wrong."""
    iterator = iter(enumerate(lines, start=1))
    try:
        _, first = next(iterator)
    except StopIteration:
        raise ExportError("the export is empty") from None
    header = _json(1, first)
    if (
        not isinstance(header, dict)
        or header.get("type") != EXPORT_TYPE
        or not isinstance(header.get("origin"), str)
        or not isinstance(header.get("checkpoint"), str)
        or not isinstance(header.get("vkeys"), list)
    ):
        raise _bad(1, f"not a {EXPORT_TYPE} header")
    entries: list[ServedEntry] = []
    proofs: dict[int, list[bytes]] = {}
    for number, text in iterator:
        if not text.strip():
            continue
        item = _json(number, text)
        if not isinstance(item, dict) or set(item) != {"seq", "entry", "proof"}:
            raise _bad(number, "an entry line has exactly seq, entry and proof")
        seq, body, proof = item["seq"], item["entry"], item["proof"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise _bad(number, "seq is not a non-negative integer")
        if not isinstance(body, str) or not isinstance(proof, list):
            raise _bad(number, "entry is not a string or proof not a list")
        hashes = []
        for h in proof:
            try:
                raw = base64.b64decode(str(h), validate=True)
            except binascii.Error:
                raise _bad(number, "a proof hash is not base64") from None
            if len(raw) != HASH_SIZE:
                raise _bad(number, "a proof hash is not 32 bytes")
            hashes.append(raw)
        entries.append(ServedEntry(seq, body, None))
        proofs[seq] = hashes
    vkeys = tuple(str(v) for v in header["vkeys"])
    return Export(header["origin"], header["checkpoint"], vkeys, tuple(entries), proofs)


def _json(number: int, text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise _bad(number, "not JSON") from None
