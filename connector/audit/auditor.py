"""What an auditor's tools share (`tsunagu audit verify`, the demo): finding a connector's
audit API and keys from a URL or DID, and speaking as an auditor participant."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from connector.audit.checkpoint import NoteVerifier, origin_for
from connector.clock import Clock, system_clock
from connector.errors import PeerError
from connector.identity.did import DidDocument, did_web_document_url
from connector.identity.keys import KeyRing
from connector.identity.tokens import issue_id_token

if TYPE_CHECKING:  # the caller loads the auditor's settings; only their type is needed here
    from connector.settings import Settings

__all__ = ["auditor_tokens", "base_url_of", "did_at", "verifiers_of"]


async def _json(http: httpx.AsyncClient, url: str) -> Any:
    try:
        response = await http.get(url)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise PeerError(f"cannot read {url}: {exc}", code="audit_bad_reply") from exc


def base_url_of(did: str) -> str:
    """Where a did:web connector serves its APIs (loopback hosts over plain HTTP)."""
    return did_web_document_url(did, dev_mode=True).removesuffix("/.well-known/did.json")


async def did_at(http: httpx.AsyncClient, base_url: str) -> str:
    """The DID a connector at `base_url` says it has (then trusted only as far as its
    did:web document is)."""
    document = await _json(http, base_url.rstrip("/") + "/.well-known/did.json")
    did = document.get("id") if isinstance(document, dict) else None
    if not isinstance(did, str):
        raise PeerError(f"{base_url} serves no DID document", code="audit_bad_reply")
    return did


async def verifiers_of(http: httpx.AsyncClient, did: str) -> list[NoteVerifier]:
    """The log's keys, from the DID document (every key it publishes: retired keys signed
    older checkpoints)."""
    raw = await _json(http, did_web_document_url(did, dev_mode=True))
    document = DidDocument.parse(raw, did=did)
    return [NoteVerifier(origin_for(did), key) for key in document.keys.values()]


def auditor_tokens(
    settings: Settings, *, clock: Clock = system_clock
) -> Callable[[str], Callable[[], str]]:
    """audience DID -> a maker of fresh ID tokens of the auditor participant `settings`."""
    keys = KeyRing.load(settings.directory, settings.did)
    credential = settings.credential()

    def for_audience(audience: str) -> Callable[[], str]:
        def token() -> str:
            return issue_id_token(
                keys.active,
                issuer=settings.did,
                audience=audience,
                credential=credential,
                now=clock(),
            )

        return token

    return for_audience
