"""did:web identifiers, DID documents, and a hardened, caching resolver.

did:web (w3c-ccg/did-method-web): `did:web:<host>[%3A<port>][:<path>...]` resolves to
`https://<host>[:<port>]/<path>/did.json`, or `/.well-known/did.json` without a path. The host
must be a DNS name; here plain http and loopback hosts are accepted only in dev mode.

A resolved document is reduced to what verification needs: Ed25519 keys by key id, and which
verification relationships each key has. ID tokens must be signed with a `capabilityInvocation`
key (DCP base protocol), credentials with an `assertionMethod` key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

import anyio
import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from connector.clock import Clock
from connector.identity.errors import IdentityError
from connector.identity.fetch import classify_host, fetch_bounded
from connector.identity.keys import KeyRing, public_key_from_jwk
from connector.outbound import OutboundPolicy

__all__ = [
    "DID_CONTEXT",
    "RELATIONSHIPS",
    "DidDocument",
    "DidResolver",
    "build_did_document",
    "did_web",
    "did_web_document_url",
]

DID_CONTEXT = "https://www.w3.org/ns/did/v1.1"
RELATIONSHIPS = ("authentication", "assertionMethod", "capabilityInvocation")
_OTHER_RELATIONSHIPS = ("capabilityDelegation", "keyAgreement")
_KEY_TYPES = frozenset({"JsonWebKey", "JsonWebKey2020"})
_MSID = re.compile(r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+(?::(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+)*")
_MEDIA_TYPES = frozenset(
    {"application/did+json", "application/did+ld+json", "application/json", "application/ld+json"}
)
MAX_DOCUMENT_BYTES = 64 * 1024


# -- identifiers -------------------------------------------------------------------------------


def did_web(host: str, port: int | None = None, path: str | None = None) -> str:
    """Build a did:web for `host[:port][/path]`, e.g. `did:web:localhost%3A8101`."""
    host = host.lower()
    if classify_host(host) not in ("name", "loopback"):
        raise ValueError(f"{host!r} is not a host name did:web can use")
    authority = f"[{host}]" if ":" in host else host
    if port is not None:
        if not 0 < port < 65536:
            raise ValueError(f"port {port} out of range")
        authority += f":{port}"
    segments = [quote(authority, safe=".-")]
    if path:
        parts = path.strip("/").split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"path {path!r} has empty or dot segments")
        segments += [quote(part, safe="-._~") for part in parts]
    return "did:web:" + ":".join(segments)


def did_web_document_url(did: str, *, dev_mode: bool) -> str:
    """Where the DID document of a did:web lives; raises IdentityError(did_invalid)."""
    if not did.startswith("did:web:") or not _MSID.fullmatch(did[8:]):
        raise IdentityError(f"{did!r} is not a did:web identifier", code="did_invalid")
    first, *path = did[8:].split(":")
    host, port = _split_authority(unquote(first), did)
    segments = [unquote(part) for part in path]
    if any(s in ("", ".", "..") or any(c in s for c in "/?#\\") for s in segments):
        raise IdentityError(f"{did!r} has an unusable path segment", code="did_invalid")
    kind = classify_host(host)
    if kind == "ip" or kind == "invalid" or (kind == "loopback" and not dev_mode):
        reason = "a loopback host needs dev mode" if kind == "loopback" else f"{kind} host"
        raise IdentityError(f"{did!r} cannot be resolved: {reason}", code="did_invalid")
    scheme = "http" if kind == "loopback" else "https"
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port is not None else "")
    suffix = "/".join(quote(s, safe="-._~") for s in segments) if segments else ".well-known"
    return f"{scheme}://{netloc}/{suffix}/did.json"


def _split_authority(authority: str, did: str) -> tuple[str, int | None]:
    if authority.startswith("["):
        host, sep, rest = authority[1:].partition("]")
        if not sep:
            raise IdentityError(f"{did!r} has an unterminated IPv6 host", code="did_invalid")
    else:
        host, _, port_text = authority.partition(":")
        rest = f":{port_text}" if port_text or authority.endswith(":") else ""
    port: int | None = None
    if rest:
        digits = rest[1:]
        ascii_number = digits.isascii() and digits.isdigit()
        if not rest.startswith(":") or not ascii_number or not 0 < int(digits) < 65536:
            raise IdentityError(f"{did!r} has an invalid port", code="did_invalid")
        port = int(digits)
    return host.lower(), port


# -- documents ---------------------------------------------------------------------------------


def build_did_document(
    did: str,
    keys: KeyRing,
    *,
    catalog_url: str | None,
    data_service_url: str | None,
) -> dict[str, Any]:
    """The DID document to serve at the did:web location.

    Every published key (the active one and recently retired ones) is listed with all three
    relationships: a token signed just before a rotation must still verify for its lifetime.
    """
    methods = [
        {"id": key.kid, "type": "JsonWebKey", "controller": did, "publicKeyJwk": key.public_jwk()}
        for key in keys.published()
    ]
    kids = [method["id"] for method in methods]
    document: dict[str, Any] = {
        "@context": [DID_CONTEXT],
        "id": did,
        "verificationMethod": methods,
        **{relationship: list(kids) for relationship in RELATIONSHIPS},
    }
    services = []
    if catalog_url:
        services.append(
            {"id": f"{did}#catalog", "type": "CatalogService", "serviceEndpoint": catalog_url}
        )
    if data_service_url:
        services.append(
            {
                "id": f"{did}#data-service",
                "type": "DataService",
                "serviceEndpoint": data_service_url,
            }
        )
    if services:
        document["service"] = services
    return document


@dataclass(frozen=True)
class DidDocument:
    """A validated DID document: its Ed25519 keys and their relationships."""

    id: str
    raw: dict[str, Any] = field(repr=False)
    keys: Mapping[str, Ed25519PublicKey] = field(repr=False)
    relationships: Mapping[str, frozenset[str]] = field(repr=False)

    @classmethod
    def parse(cls, raw: Any, *, did: str) -> DidDocument:
        """Validate `raw` as the document of `did`; raises IdentityError(did_resolution_failed)."""
        if not isinstance(raw, dict):
            raise _bad(did, "document is not a JSON object")
        if raw.get("id") != did:
            raise _bad(did, f"document id {raw.get('id')!r} is not the DID")
        keys: dict[str, Ed25519PublicKey] = {}
        seen: set[str] = set()
        for method in _as_list(raw.get("verificationMethod"), did, "verificationMethod"):
            _add_method(method, did, keys, seen)
        relationships: dict[str, frozenset[str]] = {}
        for name in RELATIONSHIPS + _OTHER_RELATIONSHIPS:
            refs: set[str] = set()
            for entry in _as_list(raw.get(name), did, name):
                if isinstance(entry, str):
                    # Relative references are ignored: did:web asks for absolute DID URLs.
                    if entry.startswith(did + "#"):
                        refs.add(entry)
                elif isinstance(entry, dict):
                    refs.update(_add_method(entry, did, keys, seen))
            relationships[name] = frozenset(refs)
        return cls(id=did, raw=raw, keys=keys, relationships=relationships)

    def verification_key(
        self, kid: str, relationship: str = "capabilityInvocation"
    ) -> Ed25519PublicKey | None:
        """The key `kid`, if the document has it and grants it `relationship`."""
        if kid not in self.relationships.get(relationship, frozenset()):
            return None
        return self.keys.get(kid)

    def service_endpoint(self, type: str) -> str | None:
        for service in _as_list(self.raw.get("service"), self.id, "service"):
            if isinstance(service, dict) and service.get("type") == type:
                endpoint = service.get("serviceEndpoint")
                if isinstance(endpoint, str):
                    return endpoint
        return None


def _bad(did: str, reason: str) -> IdentityError:
    return IdentityError(f"DID document of {did}: {reason}", code="did_resolution_failed")


def _as_list(value: Any, did: str, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(did, f"{name} is not a list")
    return value


def _add_method(
    method: Any, did: str, keys: dict[str, Ed25519PublicKey], seen: set[str]
) -> set[str]:
    """Record one verification method; returns {its id} when it is a usable Ed25519 key."""
    if not isinstance(method, dict) or not isinstance(method.get("id"), str):
        raise _bad(did, "verification method without an id")
    kid: str = method["id"]
    if not kid.startswith(did + "#"):
        raise _bad(did, f"verification method id {kid!r} is not an absolute DID URL of {did}")
    if kid in seen:
        # Two keys under one id would make "which key is kid X" ambiguous (Wycheproof JWK sets).
        raise _bad(did, f"duplicate verification method id {kid!r}")
    seen.add(kid)
    jwk = method.get("publicKeyJwk")
    if isinstance(jwk, dict) and "d" in jwk:
        raise _bad(did, f"{kid} publishes private key material")
    if method.get("type") not in _KEY_TYPES or method.get("controller") != did:
        return set()
    if not isinstance(jwk, dict):
        return set()
    try:
        keys[kid] = public_key_from_jwk(jwk)
    except ValueError:
        return set()  # another key type: not usable here, but not an error either
    return {kid}


# -- resolution --------------------------------------------------------------------------------


@dataclass
class _Entry:
    document: DidDocument
    fetched_at: datetime


class DidResolver:
    """Resolves did:web documents over HTTPS, caches them, refreshes on unknown key ids.

    Fetches go through the outbound policy: the did:web host is checked after resolution and
    the checked address dialled, and `timeout_seconds` bounds the whole fetch.

    A document is cached for `ttl_seconds`. When a token names a key the cached document lacks
    (the sender has just rotated), the document is fetched again, but at most once per
    `refresh_interval_seconds` per DID, so random key ids cannot turn into a request flood.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        clock: Clock,
        *,
        dev_mode: bool = False,
        ttl_seconds: float = 300,
        refresh_interval_seconds: float = 30,
        timeout_seconds: float = 5.0,
        policy: OutboundPolicy | None = None,
    ) -> None:
        self._http = http
        self._policy = policy or OutboundPolicy(dev_mode=dev_mode)
        self._clock = clock
        self._dev_mode = dev_mode
        self._ttl = timedelta(seconds=ttl_seconds)
        self._interval = timedelta(seconds=refresh_interval_seconds)
        self._timeout = timeout_seconds
        self._cache: dict[str, _Entry] = {}
        self._attempted: dict[str, datetime] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self._generations: dict[str, int] = {}

    @property
    def dev_mode(self) -> bool:
        return self._dev_mode

    async def resolve(self, did: str) -> DidDocument:
        entry = self._cache.get(did)
        if entry is not None and self._clock() - entry.fetched_at < self._ttl:
            return entry.document
        return await self._fetch(did)

    async def key_for(
        self, did: str, kid: str, *, relationship: str = "capabilityInvocation"
    ) -> Ed25519PublicKey:
        """The public key `kid` of `did` for `relationship`; refreshes once on a miss."""
        if not kid.startswith(did + "#"):
            raise IdentityError(
                f"key id {kid!r} does not belong to {did}", code="token_unknown_kid"
            )
        key = (await self.resolve(did)).verification_key(kid, relationship)
        if key is None and self._may_refresh(did):
            # Only refreshes caused by unknown key ids count against the limit: the first one
            # after a rotation always goes through, however recently the document was fetched.
            self._attempted[did] = self._clock()
            key = (await self._fetch(did)).verification_key(kid, relationship)
        if key is None:
            # Another request may be refreshing right now (it set the rate limit): what it
            # fetches may have the key, so wait for it and look again before refusing.
            async with self._lock(did):
                pass
            key = (await self.resolve(did)).verification_key(kid, relationship)
        if key is None:
            raise IdentityError(
                f"{did} publishes no {relationship} key {kid!r}", code="token_unknown_kid"
            )
        return key

    async def refreshed(self, did: str) -> DidDocument:
        """The document again, for a signature by a key the cached one lacks (a rotation),
        within the same rate limit as `key_for`; the cached one when over it."""
        if not self._may_refresh(did):
            return await self.resolve(did)
        self._attempted[did] = self._clock()
        return await self._fetch(did)

    def _may_refresh(self, did: str) -> bool:
        last = self._attempted.get(did)
        return last is None or self._clock() - last >= self._interval

    def _lock(self, did: str) -> anyio.Lock:
        return self._locks.setdefault(did, anyio.Lock())

    async def _fetch(self, did: str) -> DidDocument:
        url = did_web_document_url(did, dev_mode=self._dev_mode)
        generation = self._generations.get(did, 0)
        async with self._lock(did):
            # Someone else fetched while we waited: one request serves all waiting callers.
            entry = self._cache.get(did)
            if entry is not None and self._generations.get(did, 0) != generation:
                return entry.document
            body = await fetch_bounded(
                self._http,
                self._policy,
                url,
                accept="application/did+json, application/json;q=0.9",
                media_types=_MEDIA_TYPES,
                max_bytes=MAX_DOCUMENT_BYTES,
                timeout=self._timeout,
                code="did_resolution_failed",
            )
            try:
                raw = json.loads(body)
            except (ValueError, RecursionError) as exc:
                raise _bad(did, "not JSON") from exc
            document = DidDocument.parse(raw, did=did)
            self._cache[did] = _Entry(document, self._clock())
            self._generations[did] = generation + 1
            return document
