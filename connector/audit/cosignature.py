"""Witnessing: peers cosign each other's checkpoints (C2SP tlog-cosignature v1, in the
manner of C2SP tlog-witness), so a log that shows different histories to different parties
is caught.

A cosignature says "as of this time, this is the largest tree of this log I have seen, and it
extends every one I cosigned before". The signed message is

    cosignature/v1
    time <unix seconds>
    <the checkpoint body>

and the signature line is `— <witness name> base64(key id || 8-byte big-endian time ||
64-byte Ed25519 signature)`, with the key id of type 0x04 (a timestamped Ed25519
cosignature). Before cosigning, a witness checks the new checkpoint against the last one it
cosigned for that log: the consistency proof from that size must verify; the same size with
another root is a fork.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from connector.audit.checkpoint import Checkpoint, Signer
from connector.audit.errors import AuditError, CheckpointError
from connector.audit.merkle import verify_consistency
from connector.identity.keys import verify_ed25519

__all__ = ["WitnessError", "WitnessState", "cosign", "verify_cosignature", "witness_check"]

_COSIGNATURE = b"\x04"
_DASH = "\u2014 "


class WitnessError(AuditError):
    """A checkpoint the witness will not cosign (codes: witness_conflict, witness_fork,
    witness_inconsistent, witness_old_beyond_new)."""

    code = "witness_inconsistent"


@dataclass(frozen=True)
class WitnessState:
    """The last checkpoint a witness cosigned for one log."""

    size: int
    root: bytes


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def cosigner_key_id(name: str, key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + _COSIGNATURE + _raw(key)).digest()[:4]


def _message(checkpoint: Checkpoint, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + checkpoint.body().encode()


def cosign(checkpoint: Checkpoint, name: str, signer: Signer, timestamp: int) -> str:
    """The signature line of `name`'s cosignature over `checkpoint` at `timestamp`."""
    signature = signer.sign(_message(checkpoint, timestamp))
    raw = cosigner_key_id(name, signer.public_key()) + struct.pack(">Q", timestamp) + signature
    return f"{_DASH}{name} {base64.b64encode(raw).decode()}"


def verify_cosignature(
    line: str, checkpoint: Checkpoint, name: str, keys: Sequence[Ed25519PublicKey]
) -> int:
    """The cosignature's time, once it verifies as `name`'s over `checkpoint` by one of
    `keys`; CheckpointError otherwise."""
    if not line.startswith(_DASH + name + " "):
        raise CheckpointError(f"not a cosignature by {name}", code="cosignature_invalid")
    try:
        raw = base64.b64decode(line[len(_DASH + name + " ") :], validate=True)
    except binascii.Error as exc:
        raise CheckpointError("cosignature is not base64", code="cosignature_invalid") from exc
    if len(raw) != 4 + 8 + 64:
        raise CheckpointError("cosignature has the wrong length", code="cosignature_invalid")
    (timestamp,) = struct.unpack(">Q", raw[4:12])
    for key in keys:
        if raw[:4] == cosigner_key_id(name, key) and verify_ed25519(
            key, _message(checkpoint, timestamp), raw[12:]
        ):
            return int(timestamp)
    raise CheckpointError(f"{name}'s cosignature does not verify", code="cosignature_invalid")


def witness_check(
    state: WitnessState | None, old: int, proof: Sequence[bytes], new: Checkpoint
) -> None:
    """May a witness whose last cosigned checkpoint of this log is `state` cosign `new`,
    given the requester's `old` size and consistency proof? WitnessError if not."""
    known = state.size if state is not None else 0
    if old > new.size:
        raise WitnessError(
            f"old size {old} is beyond the checkpoint's {new.size}", code="witness_old_beyond_new"
        )
    if old != known:
        raise WitnessError(f"the witness is at size {known}, not {old}", code="witness_conflict")
    if state is None or state.size == 0:
        return  # nothing seen yet: the first checkpoint is taken as it is (tlog-witness)
    if new.size == state.size:
        if new.root != state.root:
            raise WitnessError(
                f"a second root for size {new.size}: the log forked", code="witness_fork"
            )
        return
    try:
        verify_consistency(state.size, new.size, state.root, new.root, proof)
    except AuditError as exc:
        raise WitnessError(
            f"checkpoint {new.size} does not extend checkpoint {state.size}: {exc.message}",
            code="witness_inconsistent",
        ) from exc
