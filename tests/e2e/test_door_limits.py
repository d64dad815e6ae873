"""Input limits at the door (issue 15, defects 3, 6 and 7): identifiers, addresses and paging
parameters are checked when a request is parsed, so a peer or an operator gets a clear 400 and
nothing is stored, on SQLite and on PostgreSQL alike; and the error handlers themselves cannot
fail on what they echo."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from connector.demo.localspace import LocalDataspace
from tests.e2e.conftest import open_offer, publish
from tests.e2e.peer import DATASET, post, request_body, token

pytestmark = pytest.mark.anyio


@pytest.fixture
async def ready(space: LocalDataspace) -> LocalDataspace:
    await publish(space["provider"], DATASET, open_offer("urn:offer:bad"))
    return space


def _raw(body: dict[str, Any], **raw: str) -> bytes:
    """`body` as JSON with some properties spliced in as raw JSON text (escapes json.dumps of a
    Python string cannot produce, like a lone surrogate)."""
    text = json.dumps(body)
    for name, value in raw.items():
        text = text[:-1] + f', "{name}": {value}' + "}"
    return text.encode()


async def _refused(space: LocalDataspace, response: httpx.Response, code: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()  # the error object itself is valid JSON, whatever was sent
    assert error["code"] == code, error
    assert await space["provider"].client.call("GET", "/negotiations") == []


# -- what a peer sends ------------------------------------------------------------------------


async def test_lone_surrogate_in_a_pid(ready: LocalDataspace) -> None:
    body = request_body(ready)
    del body["consumerPid"]
    response = await post(
        ready, "/negotiations/request", _raw(body, consumerPid='"urn:\\ud800"'), token(ready)
    )
    await _refused(ready, response, "invalid_characters")


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"consumerPid": "urn:uuid:\x00"}, id="pid"),
        pytest.param({"callbackAddress": "http://127.0.0.1:1/\x00"}, id="address"),
        pytest.param(
            {
                "offer": {
                    "@type": "Offer",
                    "@id": "urn:offer:bad",
                    "target": DATASET,
                    "permission": [{"action": "use"}],
                    "x\x00": 1,
                }
            },
            id="offer-key",
        ),
        pytest.param({"consumerPid": "urn:uuid:\x07bell"}, id="control-char"),
    ],
)
async def test_nul_and_control_characters(ready: LocalDataspace, changes: dict[str, Any]) -> None:
    response = await post(
        ready, "/negotiations/request", request_body(ready, **changes), token(ready)
    )
    await _refused(ready, response, "invalid_characters")


@pytest.mark.parametrize("length", [100_000, 257])  # 257: one past the stores' pid column
async def test_identifier_length_is_bounded(ready: LocalDataspace, length: int) -> None:
    body = request_body(ready, consumerPid="u" * length)
    response = await post(ready, "/negotiations/request", body, token(ready))
    await _refused(ready, response, "identifier_too_long")


async def test_a_long_but_reasonable_pid_is_accepted(ready: LocalDataspace) -> None:
    body = request_body(ready, consumerPid="u" * 256)
    response = await post(ready, "/negotiations/request", body, token(ready))
    assert response.status_code == 201, response.text


# -- what an operator sends -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/negotiations", "/transfers", "/agreements"])
@pytest.mark.parametrize("offset", ["9223372036854775808", "-1", "99999999999"])
async def test_paging_is_bounded(ready: LocalDataspace, path: str, offset: str) -> None:
    provider = ready["provider"]
    async with httpx.AsyncClient() as http:
        response = await http.get(
            provider.settings.public_url + "/management" + path,
            params={"offset": offset},
            headers={"Authorization": f"Bearer {provider.settings.management_token}"},
        )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"


async def _operator(
    space: LocalDataspace, method: str, path: str, who: str = "consumer", **kwargs: Any
) -> httpx.Response:
    participant = space[who]
    headers = {"Authorization": f"Bearer {participant.settings.management_token}"}
    headers.update(kwargs.pop("headers", {}))
    async with httpx.AsyncClient() as http:
        return await http.request(
            method,
            participant.settings.public_url + "/management" + path,
            headers=headers,
            **kwargs,
        )


@pytest.mark.parametrize("address", ["\x7f", "http://127.0.0.1:1/\x00", "http://a\u0085b/"])
async def test_control_characters_in_a_provider_address(
    ready: LocalDataspace, address: str
) -> None:
    response = await _operator(
        ready,
        "POST",
        "/negotiations",
        json={
            "provider": ready["provider"].did,
            "dataset_id": DATASET,
            "provider_address": address,
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in ("invalid_characters", "outbound_address_refused")
    assert await ready["consumer"].client.call("GET", "/negotiations") == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"id": "urn:x:\x00", "title": "t"}, id="nul-id"),
        pytest.param({"id": "urn:x:1", "title": "t", "data_address": {"k\x00": "v"}}, id="nul-key"),
        pytest.param({"id": "urn:x:" + "y" * 100_000, "title": "t"}, id="long-id"),
        pytest.param(
            {"id": "urn:x:2", "title": "t", "offers": [{"id": "o" * 100_000, "policy": {}}]},
            id="long-offer-id",
        ),
    ],
)
async def test_operator_bodies_are_checked(ready: LocalDataspace, body: dict[str, Any]) -> None:
    response = await _operator(ready, "POST", "/datasets", who="provider", json=body)
    assert response.status_code == 400, response.text
    assert len(await ready["provider"].client.call("GET", "/datasets")) == 1


async def test_lone_surrogate_in_an_operator_body(ready: LocalDataspace) -> None:
    response = await _operator(
        ready,
        "POST",
        "/datasets",
        who="provider",
        content=b'{"id": "urn:x:\\udc00", "title": "t"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_characters"


@pytest.mark.parametrize("pid", ["%00", "a%7Fb", "x" * 5000])
async def test_odd_path_parameters(ready: LocalDataspace, pid: str) -> None:
    response = await _operator(ready, "GET", "/negotiations/" + pid, who="provider")
    assert response.status_code in (400, 404), response.text
    response = await post(ready, f"/negotiations/{pid}/termination", {}, token(ready))
    assert response.status_code in (400, 404), response.text


# -- what the OpenAPI promises ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/management/datasets"), ("PUT", "/dsp/2025-1/negotiations/request")],
)
async def test_405_names_the_allowed_methods(space: LocalDataspace, method: str, path: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.request(method, space["provider"].settings.public_url + path)
    assert response.status_code == 405, response.text
    assert "POST" in response.headers["allow"]


async def test_the_openapi_declares_errors_not_422(space: LocalDataspace) -> None:
    async with httpx.AsyncClient() as http:
        spec = (await http.get(space["provider"].settings.public_url + "/openapi.json")).json()
    for path, item in spec["paths"].items():
        for operation in item.values():
            assert "422" not in operation["responses"], path
            assert {"400", "404", "405"} <= set(operation["responses"]), path
    listing = spec["paths"]["/management/negotiations"]["get"]
    offset = next(p for p in listing["parameters"] if p["name"] == "offset")
    assert offset["schema"]["maximum"] == 2**31 - 1


@pytest.mark.parametrize(
    "path",
    [
        "/audit/entries?start=9223372036854775808",
        "/audit/entries/9223372036854775808/inclusion?tree_size=1",
        "/audit/entries/0/inclusion?tree_size=9223372036854775808",
        "/audit/consistency?old=1&new=9223372036854775808",
    ],
)
async def test_audit_numbers_are_bounded(ready: LocalDataspace, path: str) -> None:
    provider = ready["provider"]
    async with httpx.AsyncClient() as http:
        response = await http.get(
            provider.settings.public_url + path,
            headers={"Authorization": f"Bearer {provider.settings.management_token}"},
        )
    assert response.status_code == 400, response.text
