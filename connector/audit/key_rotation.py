"""Whether a checkpoint is signed by the key its own log announced for it.

`tsunagu keys rotate` records each rotation as a `key.rotated` entry naming the old and new
key (ids and raw public keys). A checkpoint of size N must be signed by the new key of the last
rotation below N; before the first rotation any key the auditor trusts for the log will do
(nothing was announced yet). A checkpoint signed only by another key, one the DID document
publishes but the log never made active, is a finding; so is a rotation whose old key is not
the key the previous rotation made active (a gap in the chain of keys).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from connector.audit.checkpoint import NoteVerifier, signers_of
from connector.audit.entries import Entry
from connector.audit.errors import AuditError

if TYPE_CHECKING:
    from connector.audit.verifier import Report

__all__ = ["ROTATED", "announced_verifiers", "check_key_rotations"]

ROTATED = "key.rotated"


def _raw(verifier: NoteVerifier) -> bytes:
    return verifier.public_key.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def _key(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


def announced_verifiers(
    origin: str, entries: Mapping[int, Mapping[str, Any]], size: int
) -> list[NoteVerifier]:
    """The keys the log's rotations below `size` name, old and new, as note verifiers: what
    signed its older checkpoints (in receipts and cosignatures) once the DID document no
    longer publishes them. They are only as good as the checkpoint that covers them."""
    out: list[NoteVerifier] = []
    for seq in sorted(entries):
        entry = entries[seq]
        details = entry.get("details")
        if seq >= size or entry.get("kind") != ROTATED or not isinstance(details, Mapping):
            continue
        for name in ("old_key", "new_key"):
            raw = _key(details.get(name))
            if raw is not None:
                verifier = NoteVerifier(origin, Ed25519PublicKey.from_public_bytes(raw))
                if verifier not in out:
                    out.append(verifier)
    return out


def check_key_rotations(
    report: Report,
    *,
    note: str,
    size: int,
    verifiers: Sequence[NoteVerifier],
    entries: Mapping[int, Entry],
) -> None:
    announced: tuple[int, str, bytes] | None = None  # (seq, kid, key) of the last rotation < size
    last_new: str | None = None
    for seq in sorted(entries):
        entry = entries[seq]
        if entry.kind != ROTATED or seq >= size:
            continue
        old, new, new_key = entry.details.get("old"), entry.details.get("new"), None
        new_key = _key(entry.details.get("new_key"))
        if not isinstance(new, str) or new_key is None or not isinstance(old, str):
            report.add("key_rotation_malformed", f"entry {seq} names no new key", seq)
            continue
        if last_new is not None and old != last_new:
            report.add(
                "key_rotation_broken",
                f"entry {seq} rotates from {old}, but the key active then was {last_new}",
                seq,
            )
        last_new = new
        announced = (seq, new, new_key)
    if announced is None:
        return
    try:
        signers = signers_of(note, verifiers)
    except AuditError:
        return  # already a finding: checkpoint_invalid
    seq, kid, key = announced
    if not any(_raw(v) == key for v in signers):
        report.add(
            "checkpoint_key_unannounced",
            f"checkpoint {size} is signed by a key the log never announced: the last rotation "
            f"below it (entry {seq}) made {kid} the signing key",
        )
