"""Checkpoints (C2SP tlog-checkpoint) in signed notes (C2SP signed-note), Ed25519.

A checkpoint is three lines, origin, tree size and base64 root; the signed note appends a blank
line and one line per signature: an em dash, the key name, and base64 of the 4-byte key id
followed by the 64-byte signature over the note's text. The key id is the first four bytes of
SHA-256(name || 0x0A || 0x01 || public key); it only picks the key, it proves nothing, so the
verifier is configured with the keys it trusts (as a `vkey`, the C2SP text form).

We sign under the key name = the origin, with the connector's active identity key.
Parsing is strict: a note we would not write is refused with a specific code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from connector.audit.errors import CheckpointError
from connector.audit.merkle import HASH_SIZE
from connector.identity.keys import verify_ed25519

__all__ = [
    "Checkpoint",
    "NoteVerifier",
    "Signer",
    "key_id",
    "open_note",
    "origin_for",
    "sign_checkpoint",
    "sign_note",
    "signers_of",
    "verify_checkpoint",
]

_ED25519 = b"\x01"
_DASH = "\u2014 "
_MAX_SIGNATURES = 64  # the spec asks verifiers to accept at least 16
_MAX_NOTE = 64 * 1024
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


class Signer(Protocol):
    """What signs a note: `connector.identity.keys.SigningKey` is one."""

    def sign(self, message: bytes) -> bytes: ...

    def public_key(self) -> Ed25519PublicKey: ...


def origin_for(did: str) -> str:
    """The log's identity in its checkpoints: one log per connector DID."""
    return f"{did}/audit"


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name) or _CONTROL.search(name):
        raise CheckpointError(f"bad key name {name!r}", code="note_malformed")


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + _raw(public_key)).digest()[:4]


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise CheckpointError(f"{what} is not standard base64", code="note_bad_base64") from exc


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted (key name, Ed25519 key): what a `vkey` line says."""

    name: str
    public_key: Ed25519PublicKey

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def vkey(self) -> str:
        encoded = base64.b64encode(_ED25519 + _raw(self.public_key)).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        name, _, rest = vkey.partition("+")
        hex_id, _, encoded = rest.partition("+")
        _check_name(name)
        if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
            raise CheckpointError("vkey key id is not 8 hex digits", code="note_malformed")
        raw = _b64decode(encoded, "vkey")
        if len(raw) != 33 or raw[:1] != _ED25519:
            raise CheckpointError("vkey is not an Ed25519 key", code="note_malformed")
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(raw[1:]))
        if verifier.key_id.hex() != hex_id:
            raise CheckpointError("vkey key id does not match its key", code="note_malformed")
        return verifier


def sign_note(text: str, name: str, signer: Signer) -> str:
    _check_name(name)
    if not text.endswith("\n") or _CONTROL.search(text):
        raise CheckpointError("a note's text ends with a newline and has no control characters")
    signature = key_id(name, signer.public_key()) + signer.sign(text.encode())
    return f"{text}\n{_DASH}{name} {base64.b64encode(signature).decode()}\n"


def open_note(note: str, verifiers: Sequence[NoteVerifier]) -> str:
    """The note's text, once a trusted key's signature over it verifies.

    Signatures by unknown keys are ignored; a known key whose signature fails rejects the note
    (C2SP: SHOULD), and so does a note no known key signed (MUST)."""
    if len(note) > _MAX_NOTE:
        raise CheckpointError("note too large", code="note_malformed")
    if not note.endswith("\n") or _CONTROL.search(note):
        raise CheckpointError(
            "a note ends with a newline and has no control characters", code="note_malformed"
        )
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("a note has no signature block", code="note_malformed")
    text, block = note[: split + 1], note[split + 2 :]
    lines = block.split("\n")[:-1]
    if not lines or not text.strip("\n"):
        raise CheckpointError("a note needs text and at least one signature", code="note_malformed")
    if len(lines) > _MAX_SIGNATURES:
        raise CheckpointError("too many signatures", code="note_too_many")
    known = {(v.name, v.key_id): v for v in verifiers}
    verified = False
    for line in lines:
        if not line.startswith(_DASH):
            raise CheckpointError(f"bad signature line {line!r}", code="note_malformed")
        name, space, encoded = line[len(_DASH) :].rpartition(" ")
        if not space:
            raise CheckpointError(f"bad signature line {line!r}", code="note_malformed")
        _check_name(name)
        raw = _b64decode(encoded, "a signature")
        if len(raw) < 5:
            raise CheckpointError("signature too short", code="note_malformed")
        verifier = known.get((name, raw[:4]))
        if verifier is None:
            continue
        if not verify_ed25519(verifier.public_key, text.encode(), raw[4:]):
            raise CheckpointError(f"{name}'s signature does not verify", code="note_bad_signature")
        verified = True
    if not verified:
        raise CheckpointError("no trusted key signed this note", code="note_unknown_key")
    return text


def signers_of(note: str, verifiers: Sequence[NoteVerifier]) -> list[NoteVerifier]:
    """Which of `verifiers` signed `note` (after `open_note` has accepted it: each known
    key's signature verifies then)."""
    open_note(note, verifiers)
    known = {(v.name, v.key_id): v for v in verifiers}
    block = note[note.rfind("\n\n") + 2 :]
    out = []
    for line in block.split("\n")[:-1]:
        name, _, encoded = line[len(_DASH) :].rpartition(" ")
        verifier = known.get((name, _b64decode(encoded, "a signature")[:4]))
        if verifier is not None and verifier not in out:
            out.append(verifier)
    return out


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        if not text.endswith("\n"):
            raise CheckpointError("a checkpoint ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("a checkpoint has origin, size and root lines")
        origin, size, root, *extensions = lines
        if not origin or origin != origin.strip():
            raise CheckpointError("a checkpoint's origin is empty or padded")
        if not _SIZE.fullmatch(size) or int(size) >= 2**63:
            raise CheckpointError(f"tree size {size!r} is not a decimal without leading zeros")
        decoded = _b64decode(root, "the root")
        if len(decoded) != HASH_SIZE:
            raise CheckpointError("the root is not 32 bytes")
        if any(not line for line in extensions):
            raise CheckpointError("a checkpoint's extension lines are not empty")
        return cls(origin, int(size), decoded, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    return sign_note(checkpoint.body(), checkpoint.origin, signer)


def verify_checkpoint(note: str, origin: str, verifiers: Sequence[NoteVerifier]) -> Checkpoint:
    """A checkpoint of log `origin`, from a note signed by one of `verifiers`."""
    checkpoint = Checkpoint.parse(open_note(note, verifiers))
    if checkpoint.origin != origin:
        raise CheckpointError(
            f"checkpoint of {checkpoint.origin!r}, expected {origin!r}",
            code="checkpoint_wrong_origin",
        )
    return checkpoint
