"""The auditor's memory between runs (connector/audit/state.py): a remembered checkpoint
still holds the log to its history after the key that signed it was rotated out of the DID
document, and a damaged one is an error, never a fresh start."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from connector.audit.checkpoint import Checkpoint, NoteVerifier, sign_checkpoint
from connector.audit.errors import AuditError
from connector.audit.merkle import leaf_hash, root_of
from connector.audit.state import load_state, previous_checkpoints, save_state
from connector.audit.verifier import verify_log

ORIGIN = "did:web:a.example/audit"


class Key:
    def __init__(self) -> None:
        self._key = Ed25519PrivateKey.generate()

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()

    def verifier(self) -> NoteVerifier:
        return NoteVerifier(ORIGIN, self.public_key())


LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(6)]


def note(size: int, key: Key) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, size, root_of(LEAVES[:size])), key)


def test_a_checkpoint_signed_by_a_rotated_out_key_still_binds_the_log(tmp_path: Path) -> None:
    old, new = Key(), Key()
    path = tmp_path / "state.json"
    save_state(path, {ORIGIN: note(4, old)})
    # The DID document now publishes only the new key.
    [remembered] = previous_checkpoints(load_state(path), {ORIGIN: [new.verifier()]}).values()
    assert (remembered.size, remembered.root) == (4, root_of(LEAVES[:4]))
    # So a log that now shows a shorter history under its new key is still caught.
    cut_back = note(3, new)
    report = verify_log(
        origin=ORIGIN,
        verifiers=[new.verifier()],
        note=cut_back,
        entries=[],
        inclusion={},
        previous=remembered,
        consistency=None,
    )
    assert "log_truncated" in report.codes(), report.findings  # (the entries are not served here)


def test_a_remembered_checkpoint_that_fails_its_own_key_is_an_error(tmp_path: Path) -> None:
    key = Key()
    good = note(4, key)
    forged = good.replace("\n4\n", "\n5\n", 1)  # the text changed under the signature
    path = tmp_path / "state.json"
    save_state(path, {ORIGIN: forged})
    with pytest.raises(AuditError) as raised:
        previous_checkpoints(load_state(path), {ORIGIN: [key.verifier()]})
    assert raised.value.code == "state_unreadable"


def test_logs_not_verified_now_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    save_state(path, {ORIGIN: note(2, Key())})
    assert previous_checkpoints(load_state(path), {}) == {}
