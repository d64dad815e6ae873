"""Whatever a peer sends, it gets a clear 4xx with the protocol's error object, and nothing
changes. Each case runs against a real provider connector on loopback."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from connector.demo.localspace import LocalDataspace
from tests.e2e.conftest import open_offer, publish
from tests.e2e.peer import CONTEXT, DATASET, post, request_body, token

pytestmark = pytest.mark.anyio


async def assert_rejected(
    space: LocalDataspace, response: httpx.Response, status: int, code: str | None = None
) -> None:
    assert response.status_code == status, response.text
    error = response.json()
    assert error["@type"] == "ContractNegotiationError"
    assert error["@context"] == CONTEXT
    assert isinstance(error["reason"], list) and error["reason"]
    if code is not None:
        assert error["code"] == code
    assert await space["provider"].client.call("GET", "/negotiations") == []  # nothing changed


@pytest.fixture
async def provider_ready(space: LocalDataspace) -> LocalDataspace:
    await publish(space["provider"], DATASET, open_offer("urn:offer:bad"))
    return space


# -- the happy path, so the cases below fail for the reason they name ------------------------------


async def test_a_well_formed_signed_request_is_accepted(provider_ready: LocalDataspace) -> None:
    space = provider_ready
    response = await post(space, "/negotiations/request", request_body(space), token(space))
    assert response.status_code == 201, response.text
    assert response.json()["@type"] == "ContractNegotiation"


# -- malformed messages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"", "invalid_json"),
        (b"[1, 2]", None),
        (b"\xff\xfe", "invalid_json"),
        (("[" * 5000 + "]" * 5000).encode(), "too_deep"),
        (('{"a": ' + "[" * 40 + "1" + "]" * 40 + "}").encode(), "too_deep"),
    ],
)
async def test_malformed_json(
    provider_ready: LocalDataspace, body: bytes, code: str | None
) -> None:
    space = provider_ready
    await assert_rejected(
        space, await post(space, "/negotiations/request", body, token(space)), 400, code
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"@type": "ContractOfferMessage"},
        {"@type": "dspace:ContractRequestMessage"},
        {"@context": "https://w3id.org/dspace/2025/1/context.jsonld"},
        {"@context": ["https://example.org/other-context"]},
        {"consumerPid": None},
        {"consumerPid": 42},
        {"offer": None},
        {"offer": {"@type": "Offer", "@id": "urn:offer:bad", "target": DATASET}},  # no rules
        {"callbackAddress": None},
        {"providerPid": "urn:uuid:also-set"},  # both callbackAddress and providerPid
    ],
)
async def test_invalid_messages(provider_ready: LocalDataspace, changes: dict[str, Any]) -> None:
    space = provider_ready
    body = request_body(space, **changes)
    await assert_rejected(
        space, await post(space, "/negotiations/request", body, token(space)), 400
    )


@pytest.mark.parametrize(
    "callback", ["ftp://example.org/cb", "file:///etc/passwd", "javascript:alert(1)", "not a url"]
)
async def test_callback_address_must_be_http(provider_ready: LocalDataspace, callback: str) -> None:
    space = provider_ready
    body = request_body(space, callbackAddress=callback)
    await assert_rejected(
        space,
        await post(space, "/negotiations/request", body, token(space)),
        400,
        "invalid_callback",
    )


async def test_unknown_offer_and_dataset(provider_ready: LocalDataspace) -> None:
    space = provider_ready
    body = request_body(space)
    body["offer"]["@id"] = "urn:offer:never-published"
    await assert_rejected(
        space, await post(space, "/negotiations/request", body, token(space)), 400, "unknown_offer"
    )
    body = request_body(space)
    body["offer"]["target"] = "urn:dataset:nope"
    await assert_rejected(
        space,
        await post(space, "/negotiations/request", body, token(space)),
        400,
        "unknown_dataset",
    )


async def test_body_over_the_size_cap(provider_ready: LocalDataspace) -> None:
    space = provider_ready
    body = request_body(space, padding="x" * (2 * 1024 * 1024))
    response = await post(space, "/negotiations/request", body, token(space))
    await assert_rejected(space, response, 413, "body_too_large")


async def test_chunked_body_over_the_size_cap(provider_ready: LocalDataspace) -> None:
    space = provider_ready

    async def chunks() -> Any:
        for _ in range(64):
            yield b" " * 65536
        yield json.dumps(request_body(space)).encode()

    headers = {"Authorization": f"Bearer {token(space)}", "Content-Type": "application/json"}
    async with httpx.AsyncClient() as http:
        response = await http.post(
            space["provider"].settings.dsp_base + "/negotiations/request",
            content=chunks(),
            headers=headers,
        )
    await assert_rejected(space, response, 413, "body_too_large")


# -- tokens ------------------------------------------------------------------------------------------


def _hs256_with_public_key(space: LocalDataspace) -> str:
    public = (
        space["consumer"]
        .connector.keys.active.public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return token(space, alg="HS256", key=public)


def _alg_none(space: LocalDataspace) -> str:
    good = token(space)
    header = jwt.utils.base64url_encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).decode()
    return f"{header}.{good.split('.')[1]}."


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda s: None, id="missing"),
        pytest.param(lambda s: "garbage", id="malformed"),
        pytest.param(
            lambda s: token(s, exp=int(s["consumer"].connector.clock().timestamp()) - 120),
            id="expired",
        ),
        pytest.param(
            lambda s: token(
                s,
                iat=int(s["consumer"].connector.clock().timestamp()) + 600,
                exp=int(s["consumer"].connector.clock().timestamp()) + 660,
            ),
            id="not-yet-valid",
        ),
        pytest.param(
            lambda s: token(s, nbf=int(s["consumer"].connector.clock().timestamp()) + 600),
            id="nbf-in-future",
        ),
        pytest.param(
            lambda s: token(s, exp=int(s["consumer"].connector.clock().timestamp()) + 3600),
            id="lifetime-too-long",
        ),
        pytest.param(lambda s: token(s, aud="did:web:someone-else"), id="wrong-audience"),
        pytest.param(lambda s: token(s, aud=[s["provider"].did, "did:web:x"]), id="list-audience"),
        pytest.param(_alg_none, id="alg-none"),
        pytest.param(_hs256_with_public_key, id="hs256-with-public-key"),
        pytest.param(
            lambda s: token(s, headers={"kid": s["consumer"].did + "#key-99"}), id="unknown-kid"
        ),
        pytest.param(lambda s: token(s, headers={"typ": "vc+jwt"}), id="wrong-typ"),
        pytest.param(
            lambda s: token(s, headers={"jku": "http://127.0.0.1:1/keys"}), id="jku-header"
        ),
        pytest.param(
            lambda s: token(s, headers={"x5u": "http://127.0.0.1:1/cert"}), id="x5u-header"
        ),
        pytest.param(lambda s: token(s, iss=s["provider"].did), id="iss-not-sub"),
        pytest.param(lambda s: token(s, vc=None), id="no-credential"),
        pytest.param(lambda s: token(s, vc="not.a.credential"), id="bad-credential"),
        pytest.param(
            lambda s: token(s, vc=s["provider"].settings.credential()),
            id="someone-elses-credential",
        ),
    ],
)
async def test_bad_tokens_get_404_and_change_nothing(
    provider_ready: LocalDataspace, make: Any
) -> None:
    space = provider_ready
    response = await post(space, "/negotiations/request", request_body(space), make(space))
    await assert_rejected(space, response, 404)


async def test_replayed_token(provider_ready: LocalDataspace) -> None:
    space = provider_ready
    once = token(space)
    assert (
        await post(space, "/negotiations/request", request_body(space), once)
    ).status_code == 201
    response = await post(space, "/negotiations/request", request_body(space), once)
    assert response.status_code == 404
    assert len(await space["provider"].client.call("GET", "/negotiations")) == 1


async def test_bad_token_on_the_catalogue_is_401(provider_ready: LocalDataspace) -> None:
    space = provider_ready
    body = {"@context": CONTEXT, "@type": "CatalogRequestMessage"}
    response = await post(space, "/catalog/request", body, token(space, aud="did:web:someone-else"))
    assert response.status_code == 401
    assert response.json()["@type"] == "CatalogError"
    assert "someone-else" not in response.text  # the detail is logged, not sent


async def test_untrusted_authority(provider_ready: LocalDataspace, tmp_path: Any) -> None:
    from connector.identity.authority import Authority

    space = provider_ready
    rogue = Authority.init(tmp_path / "rogue", name="rogue", port=1)
    credential = rogue.issue(
        subject=space["consumer"].did,
        legal_name="C村",
        role="municipality",
        municipality_code=None,
        memberships=[],
        valid_days=30,
        now=space["consumer"].connector.clock(),
    )
    response = await post(
        space, "/negotiations/request", request_body(space), token(space, vc=credential)
    )
    await assert_rejected(space, response, 404)


async def test_expired_credential(provider_ready: LocalDataspace) -> None:
    space = provider_ready
    assert space.authority is not None
    past = space["consumer"].connector.clock() - timedelta(days=400)
    credential = space.authority.issue(
        subject=space["consumer"].did,
        legal_name="C村",
        role="municipality",
        municipality_code=None,
        memberships=[],
        valid_days=30,
        now=past,
    )
    response = await post(
        space, "/negotiations/request", request_body(space), token(space, vc=credential)
    )
    await assert_rejected(space, response, 404)


async def test_revoked_credential(provider_ready: LocalDataspace) -> None:
    space = provider_ready
    assert space.authority is not None
    space.authority.revoke(subject=space["consumer"].did, now=space["consumer"].connector.clock())
    response = await post(space, "/negotiations/request", request_body(space), token(space))
    await assert_rejected(space, response, 404)
