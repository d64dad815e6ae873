"""Wycheproof vectors against the signature check and the JWS allow-list.

The vector files are read from ../shared/testvectors (never copied into the repository).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from connector.identity import jws
from connector.identity.errors import IdentityError
from connector.identity.keys import SigningKey, verify_ed25519

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "testvectors" / "wycheproof"


@cache
def load(name: str) -> dict[str, Any]:
    path = VECTORS / name
    if not path.is_file():
        pytest.fail(f"Wycheproof vectors missing at {path}")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def ed25519_cases() -> Iterator[Any]:
    for group in load("ed25519_test.json")["testGroups"]:
        for test in group["tests"]:
            yield pytest.param(group["publicKey"]["pk"], test, id=f"tc{test['tcId']}")


def jws_cases() -> Iterator[Any]:
    for group in load("json_web_signature_test.json")["testGroups"]:
        for test in group["tests"]:
            yield pytest.param(test, id=f"tc{test['tcId']}-{group['comment']}-{test['comment']}")


def header_alg(token: str) -> Any:
    """The `alg` of a compact token's header, or None without a strictly decodable header."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[0] + "=" * (-len(parts[0]) % 4)
        header = json.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
    except ValueError:
        return None
    return header.get("alg") if isinstance(header, dict) else None


def test_vector_files_are_complete(shared_dir: Path) -> None:
    assert VECTORS == shared_dir / "testvectors" / "wycheproof"
    assert sum(1 for _ in ed25519_cases()) == load("ed25519_test.json")["numberOfTests"] == 151
    assert sum(1 for _ in jws_cases()) == load("json_web_signature_test.json")["numberOfTests"]


@pytest.mark.parametrize(("public_hex", "test"), list(ed25519_cases()))
def test_ed25519_verify(public_hex: str, test: dict[str, Any]) -> None:
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
    message, signature = bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"])
    assert test["result"] in ("valid", "invalid")  # this file has no "acceptable" cases
    assert verify_ed25519(key, message, signature) is (test["result"] == "valid")


def test_token_signatures_go_through_the_tested_check(monkeypatch: pytest.MonkeyPatch) -> None:
    key = SigningKey.generate("did:web:example.com#key-1")
    token = jws.sign(key, {"iss": "did:web:example.com"}, typ="JWT")
    seen: list[bytes] = []

    def spy(public_key: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
        seen.append(signature)
        return verify_ed25519(public_key, message, signature)

    monkeypatch.setattr(jws, "verify_ed25519", spy)
    assert jws.verify(token, key.public_key()) == {"iss": "did:web:example.com"}
    assert len(seen) == 1 and len(seen[0]) == 64


def test_jws_vectors_include_alg_none() -> None:
    algs = {header_alg(case.values[0]["jws"]) for case in jws_cases()}
    assert "none" in algs and "EdDSA" not in algs


@pytest.mark.parametrize("test", list(jws_cases()))
def test_jws_vectors_are_refused_by_the_eddsa_allow_list(test: dict[str, Any]) -> None:
    """None of these tokens is EdDSA, so every one is refused, valid or not in its own group:
    by the algorithm allow-list when its header is readable, as malformed otherwise."""
    key = SigningKey.generate("did:web:example.com#key-1").public_key()
    token = test["jws"]
    with pytest.raises(IdentityError) as caught:
        jws.parse(token, typ="JWT")
        jws.verify(token, key)
    alg = header_alg(token)
    assert caught.value.code == ("token_malformed" if alg is None else "token_alg_not_allowed")
