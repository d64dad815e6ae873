"""C2SP signed notes and checkpoints: what we sign verifies, and bad notes are refused."""

from __future__ import annotations

import base64

import pytest

from connector.audit.checkpoint import (
    Checkpoint,
    NoteVerifier,
    key_id,
    open_note,
    origin_for,
    sign_checkpoint,
    sign_note,
    verify_checkpoint,
)
from connector.audit.errors import CheckpointError
from connector.identity.keys import SigningKey

# c2sp.org/signed-note, the specification's own example verifier key and note.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n\u2014 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)
ORIGIN = origin_for("did:web:a.example")
ROOT = bytes(range(32))


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate("did:web:a.example#key-1")


def test_the_specs_example_note_verifies() -> None:
    verifier = NoteVerifier.from_vkey(SPEC_VKEY)
    assert verifier.key_id.hex() == "530d903a" and verifier.vkey() == SPEC_VKEY
    assert open_note(SPEC_NOTE, [verifier]) == "This is an example message.\n"
    with pytest.raises(CheckpointError) as caught:
        open_note(SPEC_NOTE.replace("example message", "example massage"), [verifier])
    assert caught.value.code == "note_bad_signature"


def test_a_signed_checkpoint_verifies(key: SigningKey) -> None:
    checkpoint = Checkpoint(ORIGIN, 12, ROOT)
    note = sign_checkpoint(checkpoint, key)
    lines = note.split("\n")
    assert lines[:4] == [ORIGIN, "12", base64.b64encode(ROOT).decode(), ""]
    assert lines[4].startswith(f"\u2014 {ORIGIN} ")
    raw = base64.b64decode(lines[4].rsplit(" ", 1)[1])
    assert raw[:4] == key_id(ORIGIN, key.public_key()) and len(raw) == 68
    verifier = NoteVerifier(ORIGIN, key.public_key())
    assert verify_checkpoint(note, ORIGIN, [verifier]) == checkpoint
    assert NoteVerifier.from_vkey(verifier.vkey()).vkey() == verifier.vkey()


def test_unknown_signers_are_ignored_but_one_known_is_needed(key: SigningKey) -> None:
    other = SigningKey.generate("x")
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), key)
    cosigned = note + sign_note("x\n", "someone.example/w", other).split("\n\n", 1)[1]
    assert verify_checkpoint(cosigned, ORIGIN, [NoteVerifier(ORIGIN, key.public_key())]).size == 1
    with pytest.raises(CheckpointError) as caught:
        verify_checkpoint(note, ORIGIN, [NoteVerifier(ORIGIN, other.public_key())])
    assert caught.value.code == "note_unknown_key"


def test_wrong_origin_is_refused(key: SigningKey) -> None:
    other = origin_for("did:web:b.example")
    note = sign_checkpoint(Checkpoint(other, 1, ROOT), key)
    with pytest.raises(CheckpointError) as caught:
        verify_checkpoint(note, ORIGIN, [NoteVerifier(other, key.public_key())])
    assert caught.value.code == "checkpoint_wrong_origin"


def test_a_forged_signature_by_a_known_key_is_refused(key: SigningKey) -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 5, ROOT), key)
    tampered = note.replace("\n5\n", "\n6\n", 1)
    with pytest.raises(CheckpointError) as caught:
        verify_checkpoint(tampered, ORIGIN, [NoteVerifier(ORIGIN, key.public_key())])
    assert caught.value.code == "note_bad_signature"


def _signed(key: SigningKey, body: str) -> str:
    """Sign arbitrary text under ORIGIN, so the checkpoint parser itself is what refuses it."""
    return sign_note(body, ORIGIN, key)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (f"{ORIGIN}\n12\n", "checkpoint_malformed"),  # too few lines
        (f"\n12\n{base64.b64encode(ROOT).decode()}\n", "checkpoint_malformed"),  # empty origin
        (f"{ORIGIN}\n012\n{base64.b64encode(ROOT).decode()}\n", "checkpoint_malformed"),
        (f"{ORIGIN}\n-1\n{base64.b64encode(ROOT).decode()}\n", "checkpoint_malformed"),
        (f"{ORIGIN}\nten\n{base64.b64encode(ROOT).decode()}\n", "checkpoint_malformed"),
        (f"{ORIGIN}\n{'9' * 30}\n{base64.b64encode(ROOT).decode()}\n", "checkpoint_malformed"),
        (f"{ORIGIN}\n12\n!!notbase64!!\n", "note_bad_base64"),
        (f"{ORIGIN}\n12\n{base64.b64encode(ROOT[:31]).decode()}\n", "checkpoint_malformed"),
    ],
)
def test_malformed_checkpoints_are_refused(key: SigningKey, body: str, code: str) -> None:
    with pytest.raises(CheckpointError) as caught:
        verify_checkpoint(_signed(key, body), ORIGIN, [NoteVerifier(ORIGIN, key.public_key())])
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("mangle", "code"),
    [
        (lambda n: n[:-1], "note_malformed"),  # no final newline
        (lambda n: n.replace("\n\n", "\n"), "note_malformed"),  # no blank line
        (lambda n: n.split("\n\n")[0] + "\n\n", "note_malformed"),  # no signature
        (lambda n: n.replace("\u2014 ", "- "), "note_malformed"),
        (lambda n: n[:-3] + "*=\n", "note_bad_base64"),
        (lambda n: n.replace("\n12\n", "\n1\x072\n"), "note_malformed"),  # control character
        (lambda n: n.rsplit(" ", 1)[0] + " AAAA\n", "note_malformed"),  # signature too short
        (lambda n: n + "\u2014 x AAAAAAAA\n" * 70, "note_too_many"),
    ],
)
def test_malformed_notes_are_refused(key: SigningKey, mangle, code: str) -> None:  # type: ignore[no-untyped-def]
    note = sign_checkpoint(Checkpoint(ORIGIN, 12, ROOT), key)
    with pytest.raises(CheckpointError) as caught:
        verify_checkpoint(mangle(note), ORIGIN, [NoteVerifier(ORIGIN, key.public_key())])
    assert caught.value.code == code


@pytest.mark.parametrize(
    "vkey",
    [
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong id
        "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # not type 1
        "example.com/foo+530d903a+Aeky!",
        "example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo",
    ],
)
def test_bad_vkeys_are_refused(vkey: str) -> None:
    with pytest.raises(CheckpointError):
        NoteVerifier.from_vkey(vkey)
