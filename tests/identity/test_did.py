"""did:web identifiers, DID documents and the hardened resolver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from connector.clock import ManualClock
from connector.identity.did import (
    DidDocument,
    DidResolver,
    build_did_document,
    did_web,
    did_web_document_url,
)
from connector.identity.errors import IdentityError
from connector.identity.keys import KeyRing

from .support import did_app

DID = "did:web:localhost%3A8101"
URL = "http://localhost:8101/.well-known/did.json"
REMOTE_DID = "did:web:city-a.example"
REMOTE_URL = "https://city-a.example/.well-known/did.json"


# -- identifiers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "did"),
    [
        (("localhost", 8101), "did:web:localhost%3A8101"),
        (("Example.COM",), "did:web:example.com"),
        (("example.com", None, "user/alice"), "did:web:example.com:user:alice"),
        (("127.0.0.1", 8101), "did:web:127.0.0.1%3A8101"),
        (("::1", 8101), "did:web:%5B%3A%3A1%5D%3A8101"),
    ],
)
def test_did_web_builds_identifiers(args: tuple[Any, ...], did: str) -> None:
    assert did_web(*args) == did


@pytest.mark.parametrize("host", ["10.0.0.1", "2130706433", "foo.localhost", "bad_host", ""])
def test_did_web_refuses_hosts_that_are_not_names(host: str) -> None:
    with pytest.raises(ValueError):
        did_web(host)


@pytest.mark.parametrize(
    ("did", "dev_mode", "url"),
    [
        ("did:web:example.com", False, "https://example.com/.well-known/did.json"),
        ("did:web:example.com%3A8443", False, "https://example.com:8443/.well-known/did.json"),
        ("did:web:example.com:user:alice", False, "https://example.com/user/alice/did.json"),
        ("did:web:example.com", True, "https://example.com/.well-known/did.json"),
        ("did:web:localhost%3A8101", True, "http://localhost:8101/.well-known/did.json"),
        ("did:web:127.0.0.1%3A8101", True, "http://127.0.0.1:8101/.well-known/did.json"),
        ("did:web:%5B%3A%3A1%5D%3A8101", True, "http://[::1]:8101/.well-known/did.json"),
    ],
)
def test_document_url(did: str, dev_mode: bool, url: str) -> None:
    assert did_web_document_url(did, dev_mode=dev_mode) == url


@pytest.mark.parametrize(
    ("did", "dev_mode"),
    [
        ("did:web:localhost%3A8101", False),  # plain http to loopback needs dev mode
        ("did:web:127.0.0.1%3A8101", False),
        ("did:web:10.0.0.1", True),  # IP literals are refused
        ("did:web:169.254.169.254", True),
        ("did:web:2130706433", True),  # odd numeric spellings of 127.0.0.1
        ("did:web:0x7f000001", True),
        ("did:web:127.1", True),
        ("did:web:foo.localhost", True),
        ("did:web:localhost.", True),
        ("did:web:user%40example.com", True),
        ("did:web:example.com%2Fevil", True),
        ("did:web:example.com%3A99999", False),
        ("did:web:example.com%3Ahttp", False),
        ("did:web:example.com%3A%D9%A3", False),  # a non-ASCII digit
        ("did:web:example.com:..:x", False),
        ("did:web:example.com::x", False),
        ("did:web:", False),
        ("did:key:z6Mk", False),
        ("https://example.com", False),
    ],
)
def test_document_url_refuses(did: str, dev_mode: bool) -> None:
    with pytest.raises(IdentityError) as caught:
        did_web_document_url(did, dev_mode=dev_mode)
    assert caught.value.code == "did_invalid"


# -- documents ---------------------------------------------------------------------------------


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    return KeyRing.create(tmp_path, DID)


def test_built_document_shape(ring: KeyRing) -> None:
    document = build_did_document(
        DID,
        ring,
        catalog_url="http://localhost:8101/dsp/catalog",
        data_service_url="http://localhost:8101/dsp",
    )
    kid = f"{DID}#key-1"
    assert document["id"] == DID
    assert document["verificationMethod"] == [
        {
            "id": kid,
            "type": "JsonWebKey",
            "controller": DID,
            "publicKeyJwk": ring.active.public_jwk(),
        }
    ]
    for relationship in ("authentication", "assertionMethod", "capabilityInvocation"):
        assert document[relationship] == [kid]
    assert {(s["type"], s["serviceEndpoint"]) for s in document["service"]} == {
        ("CatalogService", "http://localhost:8101/dsp/catalog"),
        ("DataService", "http://localhost:8101/dsp"),
    }
    parsed = DidDocument.parse(document, did=DID)
    assert parsed.service_endpoint("CatalogService") == "http://localhost:8101/dsp/catalog"
    assert parsed.service_endpoint("Nothing") is None


def test_document_lists_retired_keys_after_rotation(ring: KeyRing) -> None:
    ring.rotate()
    document = build_did_document(DID, ring, catalog_url=None, data_service_url=None)
    assert [m["id"] for m in document["verificationMethod"]] == [f"{DID}#key-2", f"{DID}#key-1"]
    assert "service" not in document


def _document(ring: KeyRing, **changes: Any) -> dict[str, Any]:
    document = build_did_document(DID, ring, catalog_url=None, data_service_url=None)
    document.update(changes)
    return document


def test_parsed_document_gates_keys_by_relationship(ring: KeyRing) -> None:
    kid = ring.active.kid
    parsed = DidDocument.parse(_document(ring, assertionMethod=[]), did=DID)
    assert parsed.verification_key(kid, "capabilityInvocation") is not None
    assert parsed.verification_key(kid, "assertionMethod") is None
    assert parsed.verification_key(f"{DID}#key-9") is None


def _method(ring: KeyRing, **changes: Any) -> dict[str, Any]:
    method = {
        "id": ring.active.kid,
        "type": "JsonWebKey",
        "controller": DID,
        "publicKeyJwk": ring.active.public_jwk(),
    }
    method.update(changes)
    return method


@pytest.mark.parametrize(
    "mutate",
    [
        lambda doc, ring: doc.update(id="did:web:other.example"),
        lambda doc, ring: doc["verificationMethod"].append(_method(ring)),  # duplicate id
        lambda doc, ring: doc["verificationMethod"][0]["publicKeyJwk"].update(d="AAAA"),
        lambda doc, ring: doc["verificationMethod"].append(_method(ring, id="#key-2")),
        lambda doc, ring: doc.update(verificationMethod={"not": "a list"}),
        lambda doc, ring: doc.update(authentication="did:web:x#1"),
    ],
    ids=[
        "id-mismatch",
        "duplicate-id",
        "private-key",
        "relative-id",
        "methods-not-list",
        "rel-not-list",
    ],
)
def test_bad_documents_are_refused(ring: KeyRing, mutate: Callable[[Any, KeyRing], None]) -> None:
    document = _document(ring)
    mutate(document, ring)
    with pytest.raises(IdentityError) as caught:
        DidDocument.parse(document, did=DID)
    assert caught.value.code == "did_resolution_failed"


def test_unusable_methods_are_ignored_not_fatal(ring: KeyRing) -> None:
    kid = ring.active.kid
    ec = {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}
    document = _document(
        ring,
        verificationMethod=[
            _method(ring, controller="did:web:someone.else"),
            {"id": f"{DID}#ec", "type": "JsonWebKey", "controller": DID, "publicKeyJwk": ec},
            {"id": f"{DID}#mk", "type": "Multikey", "controller": DID, "publicKeyMultibase": "z6"},
        ],
        capabilityInvocation=[kid, f"{DID}#ec", "#key-1"],
    )
    parsed = DidDocument.parse(document, did=DID)
    assert parsed.keys == {}
    assert parsed.verification_key(kid) is None


def test_embedded_method_in_a_relationship_is_usable(ring: KeyRing) -> None:
    document = _document(
        ring,
        verificationMethod=[],
        authentication=[],
        assertionMethod=[],
        capabilityInvocation=[_method(ring)],
    )
    parsed = DidDocument.parse(document, did=DID)
    assert parsed.verification_key(ring.active.kid) is not None
    assert parsed.verification_key(ring.active.kid, "authentication") is None


# -- resolution over HTTP ----------------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.gate: anyio.Event | None = None  # when set: requests are answered once it opens

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        return self.handler(request)


@pytest.fixture
async def client_for() -> AsyncIterator[Callable[[Handler], tuple[httpx.AsyncClient, Recorder]]]:
    clients: list[httpx.AsyncClient] = []

    def make(handler: Handler) -> tuple[httpx.AsyncClient, Recorder]:
        recorder = Recorder(handler)
        client = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
        clients.append(client)
        return client, recorder

    yield make
    for client in clients:
        await client.aclose()


def serve(
    document: Any, *, status: int = 200, content_type: str = "application/did+json"
) -> Handler:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return lambda request: httpx.Response(
        status, content=body, headers={"content-type": content_type}
    )


async def resolve_error(resolver: DidResolver, did: str) -> str:
    with pytest.raises(IdentityError) as caught:
        await resolver.resolve(did)
    return caught.value.code


@pytest.fixture
def remote_document(tmp_path: Path) -> dict[str, Any]:
    ring = KeyRing.create(tmp_path / "remote", REMOTE_DID)
    return build_did_document(
        REMOTE_DID, ring, catalog_url="https://city-a.example/dsp/catalog", data_service_url=None
    )


@pytest.mark.anyio
async def test_resolves_over_https_and_caches(
    client_for: Any, clock: ManualClock, remote_document: dict[str, Any]
) -> None:
    http, recorder = client_for(serve(remote_document))
    resolver = DidResolver(http, clock)
    document = await resolver.resolve(REMOTE_DID)
    assert document.id == REMOTE_DID
    assert str(recorder.requests[0].url) == REMOTE_URL
    assert recorder.requests[0].headers["accept-encoding"] == "identity"
    await resolver.resolve(REMOTE_DID)
    clock.advance(299)
    await resolver.resolve(REMOTE_DID)
    assert len(recorder.requests) == 1
    clock.advance(1)  # TTL (300 s) reached: fetch again
    await resolver.resolve(REMOTE_DID)
    assert len(recorder.requests) == 2


@pytest.mark.anyio
async def test_concurrent_resolutions_share_one_request(
    client_for: Any, clock: ManualClock, remote_document: dict[str, Any]
) -> None:
    http, recorder = client_for(serve(remote_document))
    recorder.gate = anyio.Event()
    resolver = DidResolver(http, clock)
    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(resolver.resolve, REMOTE_DID)
        await anyio.wait_all_tasks_blocked()  # all five are in, the first request unanswered
        recorder.gate.set()
    assert len(recorder.requests) == 1


@pytest.mark.anyio
async def test_dev_mode_resolves_loopback_over_http_via_asgi(
    tmp_path: Path, clock: ManualClock
) -> None:
    ring = KeyRing.create(tmp_path, DID)
    transport = httpx.ASGITransport(app=did_app(DID, ring))
    async with httpx.AsyncClient(transport=transport) as http:
        document = await DidResolver(http, clock, dev_mode=True).resolve(DID)
        key = await DidResolver(http, clock, dev_mode=True).key_for(DID, ring.active.kid)
    assert document.id == DID
    assert key.public_bytes_raw() == ring.active.public_key().public_bytes_raw()


@pytest.mark.anyio
async def test_plain_http_loopback_refused_without_dev_mode(
    client_for: Any, clock: ManualClock
) -> None:
    http, recorder = client_for(serve({}))
    assert await resolve_error(DidResolver(http, clock), DID) == "did_invalid"
    assert recorder.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "did", ["did:web:192.168.1.10%3A8101", "did:web:%5B%3A%3Affff%3A7f00%3A1%5D"]
)
async def test_ip_literal_refused(client_for: Any, clock: ManualClock, did: str) -> None:
    http, recorder = client_for(serve({}))
    assert await resolve_error(DidResolver(http, clock, dev_mode=True), did) == "did_invalid"
    assert recorder.requests == []


@pytest.mark.anyio
async def test_redirect_is_not_followed(client_for: Any, clock: ManualClock) -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "http://169.254.169.254/latest/meta-data"})

    http, recorder = client_for(handler)
    http.follow_redirects = True  # even a client that follows redirects must not here
    assert await resolve_error(DidResolver(http, clock), REMOTE_DID) == "did_resolution_failed"
    assert [str(r.url) for r in recorder.requests] == [REMOTE_URL]


@pytest.mark.anyio
async def test_oversized_document_refused_by_content_length(
    client_for: Any, clock: ManualClock
) -> None:
    http, _ = client_for(serve(b"{" + b" " * 70_000 + b"}"))
    assert await resolve_error(DidResolver(http, clock), REMOTE_DID) == "did_resolution_failed"


@pytest.mark.anyio
async def test_oversized_streamed_document_refused(client_for: Any, clock: ManualClock) -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(1000):  # 1 MB offered, no Content-Length
            sent.append(1)
            yield b" " * 1000

    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks(), headers={"content-type": "application/json"})

    http, _ = client_for(handler)
    assert await resolve_error(DidResolver(http, clock), REMOTE_DID) == "did_resolution_failed"
    assert len(sent) < 100  # reading stopped soon after the 64 KiB cap


@pytest.mark.anyio
async def test_document_id_mismatch_refused(
    client_for: Any, clock: ManualClock, remote_document: dict[str, Any]
) -> None:
    http, _ = client_for(serve({**remote_document, "id": "did:web:someone-else.example"}))
    assert await resolve_error(DidResolver(http, clock), REMOTE_DID) == "did_resolution_failed"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "handler",
    [
        serve({}, status=404),
        serve({}, status=500),
        serve({}, content_type="text/html"),
        serve(b"{not json"),
        serve(b"[" * 60_000),
        serve([1, 2]),
    ],
    ids=["404", "500", "html", "not-json", "deep-nesting", "not-object"],
)
async def test_bad_responses_refused(client_for: Any, clock: ManualClock, handler: Handler) -> None:
    http, _ = client_for(handler)
    assert await resolve_error(DidResolver(http, clock), REMOTE_DID) == "did_resolution_failed"


@pytest.mark.anyio
async def test_compressed_body_refused(
    client_for: Any, clock: ManualClock, remote_document: dict[str, Any]
) -> None:
    import gzip

    body = gzip.compress(json.dumps(remote_document).encode())
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    http, _ = client_for(lambda request: httpx.Response(200, content=body, headers=headers))
    assert await resolve_error(DidResolver(http, clock), REMOTE_DID) == "did_resolution_failed"


@pytest.mark.anyio
async def test_transport_errors_are_wrapped(client_for: Any, clock: ManualClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow", request=request)

    http, _ = client_for(handler)
    assert await resolve_error(DidResolver(http, clock), REMOTE_DID) == "did_resolution_failed"


@pytest.mark.anyio
async def test_key_for_refreshes_once_per_interval(
    client_for: Any, clock: ManualClock, tmp_path: Path
) -> None:
    ring = KeyRing.create(tmp_path / "remote", REMOTE_DID)

    def handler(_request: httpx.Request) -> httpx.Response:
        document = build_did_document(REMOTE_DID, ring, catalog_url=None, data_service_url=None)
        return httpx.Response(200, json=document)

    http, recorder = client_for(handler)
    resolver = DidResolver(http, clock, refresh_interval_seconds=30)
    await resolver.key_for(REMOTE_DID, f"{REMOTE_DID}#key-1")
    new_kid = ring.rotate().kid
    # The first unknown kid refreshes at once, however recent the last fetch (a rotation).
    await resolver.key_for(REMOTE_DID, new_kid)
    assert len(recorder.requests) == 2
    # Further unknown kids within the interval do not fetch again.
    with pytest.raises(IdentityError) as caught:
        await resolver.key_for(REMOTE_DID, f"{REMOTE_DID}#key-7")
    assert caught.value.code == "token_unknown_kid"
    assert len(recorder.requests) == 2
    clock.advance(30)
    with pytest.raises(IdentityError):
        await resolver.key_for(REMOTE_DID, f"{REMOTE_DID}#key-8")
    assert len(recorder.requests) == 3


@pytest.mark.anyio
async def test_key_for_refuses_a_kid_of_another_did_without_fetching(
    client_for: Any, clock: ManualClock
) -> None:
    http, recorder = client_for(serve({}))
    with pytest.raises(IdentityError) as caught:
        await DidResolver(http, clock).key_for(REMOTE_DID, "did:web:evil.example#key-1")
    assert caught.value.code == "token_unknown_kid"
    assert recorder.requests == []
