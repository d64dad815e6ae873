"""Bitstring Status List encoding and the status-list credential."""

from __future__ import annotations

import base64
import gzip
from datetime import timedelta

import pytest

from connector.clock import ManualClock
from connector.identity import jws
from connector.identity.errors import IdentityError
from connector.identity.keys import SigningKey
from connector.identity.status_list import (
    MIN_BITS,
    Bitstring,
    issue_status_list_credential,
    read_status_list_credential,
)

ISSUER = "did:web:authority.example"
URL = "https://authority.example/status/1"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_minimum_size_and_all_clear() -> None:
    bits = Bitstring()
    assert bits.size == MIN_BITS == 131_072
    assert not any(bits.get(i) for i in (0, 1, 7, 8, MIN_BITS - 1))


def test_index_zero_is_the_most_significant_bit_of_the_first_byte() -> None:
    bits = Bitstring.with_set([0, 9])
    raw = gzip.decompress(base64.urlsafe_b64decode(bits.encode()[1:] + "=="))
    assert raw[0] == 0x80 and raw[1] == 0x40 and not any(raw[2:])


def test_encode_decode_round_trip() -> None:
    indices = {0, 1, 4242, 70_000, MIN_BITS - 1}
    encoded = Bitstring.with_set(indices).encode()
    assert encoded.startswith("u") and "=" not in encoded
    decoded = Bitstring.decode(encoded)
    assert decoded.size == MIN_BITS
    assert {i for i in range(MIN_BITS) if decoded.get(i)} == indices


def test_encoding_is_deterministic() -> None:
    assert Bitstring.with_set([3]).encode() == Bitstring.with_set([3]).encode()


def test_set_can_clear_a_bit() -> None:
    bits = Bitstring.with_set([5])
    bits.set(5, False)
    assert not bits.get(5)


@pytest.mark.parametrize("index", [-1, MIN_BITS])
def test_index_outside_the_list_is_refused(index: int) -> None:
    with pytest.raises(IndexError):
        Bitstring().get(index)


def test_lists_below_the_minimum_size_are_refused() -> None:
    with pytest.raises(ValueError):
        Bitstring(MIN_BITS - 8)
    with pytest.raises(ValueError):
        Bitstring.decode("u" + b64(gzip.compress(b"\0" * 1024)))


@pytest.mark.parametrize(
    "encoded",
    [
        b64(gzip.compress(bytes(16384))),  # no multibase prefix
        "z" + b64(gzip.compress(bytes(16384))),  # base58btc, not base64url
        "u" + b64(gzip.compress(bytes(16384))) + "==",
        "u!!!!",
        "u" + b64(b"not gzip at all"),
        "u" + b64(gzip.compress(bytes(16384))[:-4]),  # truncated
        "u" + b64(gzip.compress(bytes(16384)) + b"junk"),
        "u" + b64(gzip.compress(bytes(17 * 1024 * 1024))),  # inflates past the cap
    ],
    ids=["no-prefix", "base58", "padded", "bad-chars", "not-gzip", "truncated", "trailing", "bomb"],
)
def test_malformed_encodings_are_refused(encoded: str) -> None:
    with pytest.raises(ValueError):
        Bitstring.decode(encoded)


def _credential(clock: ManualClock, key: SigningKey, **changes: object) -> dict[str, object]:
    token = issue_status_list_credential(
        key, issuer=ISSUER, url=URL, bits=Bitstring.with_set([7]), now=clock()
    )
    claims = jws.parse(token, typ="vc+jwt").claims
    claims.update(changes)
    return claims


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate(f"{ISSUER}#key-1")


def test_status_list_credential_shape(clock: ManualClock, key: SigningKey) -> None:
    token = issue_status_list_credential(key, issuer=ISSUER, url=URL, bits=Bitstring(), now=clock())
    parsed = jws.parse(token, typ="vc+jwt")
    assert parsed.header == {"alg": "EdDSA", "kid": key.kid, "typ": "vc+jwt"}
    claims = jws.verify(token, key.public_key())
    assert claims["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert claims["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert claims["id"] == URL and claims["issuer"] == claims["iss"] == ISSUER
    subject = claims["credentialSubject"]
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "revocation"
    assert claims["exp"] - claims["iat"] == 3600


def test_read_returns_the_bits(clock: ManualClock, key: SigningKey) -> None:
    bits = read_status_list_credential(
        _credential(clock, key), issuer=ISSUER, url=URL, now=clock(), leeway_seconds=30
    )
    assert bits.get(7) and not bits.get(6)


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "did:web:other.example"},
        {"issuer": "did:web:other.example"},
        {"id": "https://authority.example/status/2"},
        {"type": ["VerifiableCredential"]},
        {"@context": ["https://www.w3.org/2018/credentials/v1"]},
        {"credentialSubject": {"statusPurpose": "suspension", "encodedList": "u"}},
        {"credentialSubject": {"statusPurpose": "revocation"}},
        {"validUntil": "yesterday"},
    ],
    ids=["iss", "issuer", "id", "type", "context", "purpose", "no-list", "bad-date"],
)
def test_read_refuses_wrong_credentials(
    clock: ManualClock, key: SigningKey, changes: dict[str, object]
) -> None:
    with pytest.raises(IdentityError) as caught:
        read_status_list_credential(
            _credential(clock, key, **changes),
            issuer=ISSUER,
            url=URL,
            now=clock(),
            leeway_seconds=30,
        )
    assert caught.value.code == "status_list_invalid"


def test_read_refuses_a_stale_list(clock: ManualClock, key: SigningKey) -> None:
    claims = _credential(clock, key)
    later = clock() + timedelta(hours=1, seconds=31)
    with pytest.raises(IdentityError) as caught:
        read_status_list_credential(claims, issuer=ISSUER, url=URL, now=later, leeway_seconds=30)
    assert caught.value.code == "status_list_invalid"
