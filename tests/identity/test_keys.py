"""Key rings on disk: creation, file modes, loading, rotation."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connector.errors import ConfigError
from connector.identity.keys import KeyRing, SigningKey, public_key_from_jwk, verify_ed25519

DID = "did:web:localhost%3A8101"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_create_writes_a_private_key_readable_only_by_the_owner(tmp_path: Path) -> None:
    ring = KeyRing.create(tmp_path, DID)
    assert ring.active.kid == f"{DID}#key-1"
    assert mode(tmp_path / "keys" / "key-1.pem") == 0o600
    assert mode(tmp_path / "keys") == 0o700
    assert (tmp_path / "keys" / "key-1.pem").read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert KeyRing.exists(tmp_path)


def test_key_file_mode_ignores_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        KeyRing.create(tmp_path, DID)
    finally:
        os.umask(previous)
    assert mode(tmp_path / "keys" / "key-1.pem") == 0o600


def test_load_returns_the_same_key(tmp_path: Path) -> None:
    created = KeyRing.create(tmp_path, DID)
    loaded = KeyRing.load(tmp_path, DID)
    assert loaded.active.kid == created.active.kid
    assert loaded.active.public_jwk() == created.active.public_jwk()


def test_create_refuses_to_overwrite(tmp_path: Path) -> None:
    KeyRing.create(tmp_path, DID)
    with pytest.raises(ConfigError) as caught:
        KeyRing.create(tmp_path, DID)
    assert caught.value.code == "keys_exist"


def test_load_without_keys_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        KeyRing.load(tmp_path, DID)
    assert caught.value.code == "keys_missing"


def test_load_for_another_did_is_refused(tmp_path: Path) -> None:
    KeyRing.create(tmp_path, DID)
    with pytest.raises(ConfigError) as caught:
        KeyRing.load(tmp_path, "did:web:localhost%3A9999")
    assert caught.value.code == "keys_wrong_did"


def test_load_refuses_a_key_others_can_read(tmp_path: Path) -> None:
    KeyRing.create(tmp_path, DID)
    os.chmod(tmp_path / "keys" / "key-1.pem", 0o640)
    with pytest.raises(ConfigError) as caught:
        KeyRing.load(tmp_path, DID)
    assert caught.value.code == "key_file_mode"


def test_rotate_keeps_the_previous_key_published_and_persists(tmp_path: Path) -> None:
    ring = KeyRing.create(tmp_path, DID)
    first = ring.active
    second = ring.rotate()
    assert second.kid == f"{DID}#key-2"
    assert ring.active.kid == second.kid
    assert [k.kid for k in ring.published()] == [second.kid, first.kid]
    reloaded = KeyRing.load(tmp_path, DID)
    assert [k.kid for k in reloaded.published()] == [second.kid, first.kid]
    assert reloaded.published()[1].public_jwk() == first.public_jwk()
    assert mode(tmp_path / "keys" / "key-2.pem") == 0o600


def test_rotation_drops_keys_past_the_retention(tmp_path: Path) -> None:
    ring = KeyRing.create(tmp_path, DID, retain_retired=2)
    for _ in range(3):
        ring.rotate()
    assert [k.kid.rsplit("#", 1)[1] for k in ring.published()] == ["key-4", "key-3", "key-2"]
    assert not (tmp_path / "keys" / "key-1.pem").exists()


def test_key_numbers_are_never_reused(tmp_path: Path) -> None:
    ring = KeyRing.create(tmp_path, DID, retain_retired=0)
    ring.rotate()
    ring.rotate()
    assert ring.active.kid.endswith("#key-3")
    assert [k.kid for k in ring.published()] == [ring.active.kid]


def test_a_rotation_by_another_process_is_picked_up(tmp_path: Path) -> None:
    server = KeyRing.create(tmp_path, DID)
    cli = KeyRing.load(tmp_path, DID)
    new = cli.rotate()
    assert server.active.kid == new.kid
    assert server.active.public_jwk() == new.public_jwk()


def test_sign_and_verify_round_trip() -> None:
    key = SigningKey.generate(f"{DID}#key-1")
    signature = key.sign(b"message")
    assert verify_ed25519(key.public_key(), b"message", signature)
    assert not verify_ed25519(key.public_key(), b"messagE", signature)
    assert not verify_ed25519(key.public_key(), b"message", signature + b"\0")
    assert "private_key" not in repr(key)


def test_public_jwk_round_trips() -> None:
    key = SigningKey.generate("k")
    jwk = key.public_jwk()
    assert set(jwk) == {"kty", "crv", "x"}
    assert (jwk["kty"], jwk["crv"]) == ("OKP", "Ed25519")
    assert public_key_from_jwk(jwk).public_bytes_raw() == key.public_key().public_bytes_raw()


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
        {"kty": "OKP", "crv": "X25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"kty": "OKP", "crv": "Ed25519"},
        {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"},
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURp"},
        {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        },
    ],
    ids=["ec", "x25519", "no-x", "short", "padded", "non-canonical", "private"],
)
def test_public_key_from_jwk_refuses(jwk: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        public_key_from_jwk(jwk)


def test_generated_keys_differ() -> None:
    one, two = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    assert SigningKey("a", one).public_jwk() != SigningKey("b", two).public_jwk()
