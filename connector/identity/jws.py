"""Compact JWS with one algorithm: the only module that touches pyjwt.

pyjwt does the compact serialisation (strict base64url, JSON segments); the signature itself
goes through `keys.verify_ed25519`, registered as pyjwt's only algorithm, so the Wycheproof
vectors in the tests exercise the exact code path tokens take. `parse` splits and decodes the
three segments itself (strict, unpadded base64url: `encoding.b64url_decode`), and keeps what the
signature covers, so `verify_parsed` checks a token read once: pyjwt's own decoding tests each
character of a segment in Python, which for an ID token with its credential inside was most of
a protocol message's verification, twice over. Checking the header and the
signature lives here; what the claims mean is the caller's business (tokens.py, credentials.py).

Headers are allow-listed (RFC 8725 §3.1, §3.10): `alg` must be exactly `EdDSA`, `typ` exactly
what the caller expects (so one kind of token never passes as another, §3.11), `kid` must name a
key of the issuer's DID, and nothing that points at keys or changes processing (`jku`, `x5u`,
`jwk`, `x5c`, `crit`, `b64`, ...) is accepted. Unknown headers are refused as well.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import Algorithm

from connector.identity.encoding import b64url_decode
from connector.identity.errors import IdentityError
from connector.identity.keys import SigningKey, verify_ed25519

__all__ = [
    "ALGORITHM",
    "MAX_TOKEN_LENGTH",
    "UnverifiedJws",
    "parse",
    "sign",
    "verify",
    "verify_parsed",
]

ALGORITHM = "EdDSA"
MAX_TOKEN_LENGTH = 16_384
_ALLOWED_HEADERS = frozenset({"alg", "typ", "kid", "cty"})


class _Ed25519Only(Algorithm):
    """pyjwt's EdDSA, narrowed: only `cryptography` Ed25519 key objects, never bytes or PEM.

    Taking key objects only rules out the HMAC-with-public-key confusion at the type level,
    whatever the header says.
    """

    def prepare_key(self, key: Any) -> Any:
        if not isinstance(key, Ed25519PrivateKey | Ed25519PublicKey):
            raise jwt.InvalidKeyError("an Ed25519 key object is required")
        return key

    def sign(self, msg: bytes, key: Any) -> bytes:
        if not isinstance(key, Ed25519PrivateKey):
            raise jwt.InvalidKeyError("signing needs an Ed25519 private key")
        return key.sign(msg)

    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        if isinstance(key, Ed25519PrivateKey):
            key = key.public_key()
        return isinstance(key, Ed25519PublicKey) and verify_ed25519(key, msg, sig)

    @staticmethod
    def to_jwk(key_obj: Any, as_dict: bool = False) -> Any:
        raise NotImplementedError("keys travel in DID documents, not through pyjwt")

    @staticmethod
    def from_jwk(jwk: Any) -> Any:
        raise NotImplementedError("keys travel in DID documents, not through pyjwt")


@functools.cache
def _codec() -> jwt.PyJWS:
    # An empty allow-list first, then our one algorithm: HS*, RS*, ES* and "none" do not exist
    # in this codec at all.
    codec = jwt.PyJWS(algorithms=[])
    codec.register_algorithm(ALGORITHM, _Ed25519Only())
    return codec


@dataclass(frozen=True)
class UnverifiedJws:
    """A structurally valid token whose signature has NOT been checked yet.

    Good for rejecting early and for finding the key; never for accepting anything.
    """

    header: dict[str, Any]
    claims: dict[str, Any]
    kid: str
    signing_input: bytes  # the first two segments as sent: what the signature covers
    signature: bytes


def sign(key: SigningKey, claims: Mapping[str, Any], *, typ: str) -> str:
    """Sign `claims` as a compact JWS with header {alg: EdDSA, kid, typ}."""
    payload = json.dumps(dict(claims), separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"alg": ALGORITHM, "kid": key.kid, "typ": typ}
    return _codec().encode(payload, key.private_key, algorithm=ALGORITHM, headers=headers)


def parse(token: str, *, typ: str) -> UnverifiedJws:
    """Decode a compact JWS without trusting it and enforce the header rules."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise IdentityError("token is not a string of acceptable length", code="token_malformed")
    if token.count(".") != 2:
        # Five parts would be a JWE, one or two are not a JWS at all.
        raise IdentityError("token must be a compact JWS (three parts)", code="token_malformed")
    # The header is read first so that its rules (and their specific error codes) apply before
    # anything else in the token is looked at.
    header_text, payload_text, signature_text = token.split(".")
    try:
        header_bytes = b64url_decode(header_text)
    except ValueError as exc:
        raise IdentityError(
            f"token header is not base64url: {exc}", code="token_malformed"
        ) from exc
    header = _json_object(header_bytes, "header")
    _check_header(header, typ)
    try:
        payload, signature = b64url_decode(payload_text), b64url_decode(signature_text)
    except ValueError as exc:
        raise IdentityError(f"token cannot be decoded: {exc}", code="token_malformed") from exc
    claims = _json_object(payload, "payload")
    return UnverifiedJws(
        header=header,
        claims=claims,
        kid=header["kid"],
        signing_input=f"{header_text}.{payload_text}".encode("ascii"),
        signature=signature,
    )


def verify_parsed(parsed: UnverifiedJws, public_key: Ed25519PublicKey) -> dict[str, Any]:
    """`verify` for a token `parse` has read (its header rules passed): the signature over
    the very bytes the claims were read from, which it returns."""
    if not verify_ed25519(public_key, parsed.signing_input, parsed.signature):
        raise IdentityError("token signature is invalid", code="token_bad_signature")
    return parsed.claims


def verify(token: str, public_key: Ed25519PublicKey) -> dict[str, Any]:
    """Check the signature and return the claims it covers.

    Call `parse` first: this assumes the header rules already passed.
    """
    try:
        decoded = _codec().decode_complete(token, key=public_key, algorithms=[ALGORITHM])
    except jwt.InvalidSignatureError as exc:
        raise IdentityError("token signature is invalid", code="token_bad_signature") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise IdentityError(
            f"token algorithm refused: {exc}", code="token_alg_not_allowed"
        ) from exc
    except jwt.PyJWTError as exc:
        raise IdentityError(f"token rejected: {exc}", code="token_malformed") from exc
    return _json_object(decoded["payload"], "payload")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python's json accepts NaN and Infinity; JSON does not


def _json_object(data: bytes | str, part: str) -> dict[str, Any]:
    try:
        value = json.loads(data, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise IdentityError(f"token {part} is not JSON: {exc}", code="token_malformed") from exc
    if not isinstance(value, dict):
        raise IdentityError(f"token {part} is not a JSON object", code="token_malformed")
    return value


def _check_header(header: dict[str, Any], typ: str) -> None:
    alg = header.get("alg")
    if alg != ALGORITHM:
        # Exact, case-sensitive match: "none", "None", "HS256", "ES256", "eddsa" all end here.
        raise IdentityError(f"algorithm {alg!r} is not allowed", code="token_alg_not_allowed")
    extra = set(header) - _ALLOWED_HEADERS
    if extra:
        raise IdentityError(
            f"header parameters not accepted: {sorted(extra)}", code="token_forbidden_header"
        )
    if header.get("typ") != typ:
        raise IdentityError(
            f"token type {header.get('typ')!r} is not {typ!r}", code="token_bad_type"
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise IdentityError("token header names no key (kid)", code="token_missing_claim")
