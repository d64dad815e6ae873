"""Bitstring Status List v1.0: the bitstring and the status-list credential around it.

A credential names an index in a list the authority publishes; bit set = revoked. The list is
GZIP-compressed, base64url-encoded without padding and prefixed with the multibase code `u`.
Index 0 is the left-most bit, i.e. the most significant bit of the first byte. A list has at
least 131,072 bits (16 KiB), so one index says little about who holds it (herd privacy).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from connector.identity import jws
from connector.identity.encoding import b64url_decode, b64url_encode, from_iso, numeric_date, to_iso
from connector.identity.errors import IdentityError
from connector.identity.keys import SigningKey

__all__ = [
    "MAX_BYTES",
    "MIN_BITS",
    "STATUS_LIST_TYPE",
    "VC_CONTEXT_V2",
    "VC_JWT_TYPE",
    "Bitstring",
    "issue_status_list_credential",
    "read_status_list_credential",
]

VC_CONTEXT_V2 = "https://www.w3.org/ns/credentials/v2"
VC_JWT_TYPE = "vc+jwt"
STATUS_LIST_TYPE = "BitstringStatusListCredential"
MIN_BITS = 131_072
MAX_BYTES = 16 * 1024 * 1024  # decompressed cap: a gzip bomb stops here


class Bitstring:
    """A fixed-size list of status bits."""

    def __init__(self, size: int = MIN_BITS, *, data: bytes | None = None) -> None:
        if data is not None:
            size = len(data) * 8
        if size < MIN_BITS or size % 8:
            raise ValueError(f"a status list has a multiple of 8 and at least {MIN_BITS} bits")
        self._bytes = bytearray(data) if data is not None else bytearray(size // 8)

    @classmethod
    def with_set(cls, indices: Iterable[int], size: int = MIN_BITS) -> Bitstring:
        bits = cls(size)
        for index in indices:
            bits.set(index)
        return bits

    @property
    def size(self) -> int:
        return len(self._bytes) * 8

    def get(self, index: int) -> bool:
        self._check(index)
        return bool(self._bytes[index // 8] & (0x80 >> (index % 8)))

    def set(self, index: int, value: bool = True) -> None:
        self._check(index)
        mask = 0x80 >> (index % 8)
        if value:
            self._bytes[index // 8] |= mask
        else:
            self._bytes[index // 8] &= ~mask & 0xFF

    def encode(self) -> str:
        # mtime=0 keeps the encoding deterministic: the same bits give the same string.
        return "u" + b64url_encode(gzip.compress(bytes(self._bytes), mtime=0))

    @classmethod
    def decode(cls, encoded: str) -> Bitstring:
        """Parse an `encodedList`; raises ValueError on anything malformed or oversized."""
        if not encoded.startswith("u"):
            raise ValueError("encodedList must be multibase base64url (prefix 'u')")
        compressed = b64url_decode(encoded[1:])
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(compressed, MAX_BYTES + 1)
        except zlib.error as exc:
            raise ValueError(f"encodedList is not GZIP data: {exc}") from exc
        if len(data) > MAX_BYTES:
            raise ValueError(f"status list larger than {MAX_BYTES} bytes")
        if not inflater.eof or inflater.unused_data:
            raise ValueError("encodedList is truncated or has trailing data")
        return cls(data=data)

    def _check(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise IndexError(f"status index {index} outside 0..{self.size - 1}")


def issue_status_list_credential(
    key: SigningKey,
    *,
    issuer: str,
    url: str,
    bits: Bitstring,
    now: datetime,
    valid_seconds: int = 3600,
) -> str:
    """Sign the status list at `url` as a VC-JWT (VC 2.0 `BitstringStatusListCredential`).

    It is issued fresh on each request with a short validity, so an old copy that predates a
    revocation cannot be replayed for long.
    """
    valid_until = now + timedelta(seconds=valid_seconds)
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT_V2],
        "id": url,
        "type": ["VerifiableCredential", STATUS_LIST_TYPE],
        "issuer": issuer,
        "validFrom": to_iso(now),
        "validUntil": to_iso(valid_until),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": bits.encode(),
        },
        "iss": issuer,
        "iat": numeric_date(now),
        "nbf": numeric_date(now),
        "exp": numeric_date(valid_until),
    }
    return jws.sign(key, credential, typ=VC_JWT_TYPE)


def read_status_list_credential(
    claims: Mapping[str, Any], *, issuer: str, url: str, now: datetime, leeway_seconds: int
) -> Bitstring:
    """Check the (signature-verified) claims of a status-list credential and return its bits."""

    def bad(reason: str) -> IdentityError:
        return IdentityError(f"status list {url}: {reason}", code="status_list_invalid")

    context = claims.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_CONTEXT_V2:
        raise bad("not a VC 2.0 credential")
    types = claims.get("type")
    if not isinstance(types, list) or STATUS_LIST_TYPE not in types:
        raise bad(f"type is not {STATUS_LIST_TYPE}")
    if claims.get("iss") != issuer or _issuer_id(claims.get("issuer")) != issuer:
        raise bad(f"not issued by {issuer}")
    if claims.get("id", url) != url:
        raise bad(f"credential id {claims.get('id')!r} is not its URL")
    leeway = timedelta(seconds=leeway_seconds)
    try:
        if "validFrom" in claims and from_iso(claims["validFrom"]) > now + leeway:
            raise bad("not valid yet")
        if "validUntil" in claims and from_iso(claims["validUntil"]) < now - leeway:
            raise bad("expired")
    except (TypeError, ValueError) as exc:
        raise bad(f"bad validity dates: {exc}") from exc
    subject = claims.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("statusPurpose") != "revocation":
        raise bad("credentialSubject is not a revocation list")
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        raise bad("encodedList missing")
    try:
        return Bitstring.decode(encoded)
    except ValueError as exc:
        raise bad(str(exc)) from exc


def _issuer_id(issuer: Any) -> Any:
    """VC 2.0 allows `issuer` as a URL or as an object with an `id`."""
    return issuer.get("id") if isinstance(issuer, dict) else issuer
