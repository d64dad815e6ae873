"""hypothesis-generated mutations of the official DSP 2025-1 example messages
(../shared/dsp/*/example), sent with a valid token to a provider's protocol endpoints on
loopback: no 5xx, only the statuses the OpenAPI declares, a DSP error object for every refusal,
and a refused message changes nothing on either side."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.settings import DSP_PATH
from tests.e2e.peer import token
from tests.fuzz.conftest import DATASET, EXAMPLES, OFFER
from tests.fuzz.live import LiveSpace

DSP = Path(__file__).resolve().parents[2].parent / "shared" / "dsp"

# example file -> the provider endpoint it is sent to ({pid}: the provider's pid)
ENDPOINTS = {
    "negotiation/example/contract-request-message_initial.json": "/negotiations/request",
    "negotiation/example/contract-request-message.json": "/negotiations/{pid}/request",
    "negotiation/example/contract-negotiation-event-message.json": "/negotiations/{pid}/events",
    "negotiation/example/contract-agreement-verification-message.json": (
        "/negotiations/{pid}/agreement/verification"
    ),
    "negotiation/example/contract-negotiation-termination-message.json": (
        "/negotiations/{pid}/termination"
    ),
    "transfer/example/transfer-request-message.json": "/transfers/request",
    "transfer/example/transfer-start-message.json": "/transfers/{tpid}/start",
    "transfer/example/transfer-suspension-message.json": "/transfers/{tpid}/suspension",
    "transfer/example/transfer-completion-message.json": "/transfers/{tpid}/completion",
    "transfer/example/transfer-termination-message.json": "/transfers/{tpid}/termination",
}
EXAMPLE_FILES = sorted(ENDPOINTS)


def _example(name: str, made: dict[str, Any]) -> dict[str, Any]:
    """The example, pointed at the set-up's real processes, dataset and offer."""
    body: dict[str, Any] = json.loads((DSP / name).read_text())
    negotiation, transfer = made["negotiation"], made["transfer"]
    is_transfer = name.startswith("transfer/")
    if "consumerPid" in body:
        body["consumerPid"] = (transfer if is_transfer else negotiation)["id"]
    if "providerPid" in body:
        body["providerPid"] = (transfer if is_transfer else negotiation)["peer_pid"]
    if "agreementId" in body:
        body["agreementId"] = negotiation["agreement_id"]
    if "offer" in body:
        body["offer"].update({"@id": OFFER, "target": DATASET})
    if name.endswith("request-message_initial.json"):
        body["consumerPid"] = "urn:uuid:fuzzed-request"
    return body


NASTY = st.sampled_from(
    ["", " ", "\x00", "\ud800", "\udfff", "\x7f", "\u0085", "x" * 5000, "../../etc", "%00", "null"]
)
TEXT = st.one_of(NASTY, st.text(max_size=40), st.text(st.characters(codec=None), max_size=20))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.extend(_paths(value, (*prefix, i)))
    return out


@st.composite
def mutated(draw: st.DrawFn, made: dict[str, Any]) -> tuple[str, Any]:
    name = draw(st.sampled_from(EXAMPLE_FILES))
    body: Any = copy.deepcopy(_example(name, made))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(body)
        path = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["replace", "delete", "add", "retype"]))
        if not path:
            body = draw(JSON) if kind == "replace" else body
            continue
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if kind == "replace":
            parent[last] = draw(JSON)
        elif kind == "delete":
            del parent[last]
        elif kind == "add" and isinstance(parent, dict):
            parent[draw(TEXT)] = draw(JSON)
        elif kind == "retype":
            value = parent[last]
            parent[last] = [value] if not isinstance(value, list) else (value[0] if value else {})
    return name, body


def _snapshot(live: LiveSpace) -> Any:
    return {
        (key, path): live.call(key, "GET", path)
        for key in ("provider", "consumer")
        for path in ("/negotiations", "/transfers", "/agreements")
    }


def _declared(spec: dict[str, Any], path: str) -> set[int]:
    for template, item in spec["paths"].items():
        parts, wanted = template.split("/"), path.split("/")
        if len(parts) == len(wanted) and all(
            p == w or p.startswith("{") for p, w in zip(parts, wanted, strict=True)
        ):
            if "post" in item:
                return {int(status) for status in item["post"]["responses"]}
    raise AssertionError(f"no POST route for {path}")


async def _quiet(live: LiveSpace) -> None:
    """Once nothing is owed to a peer, stop both runners: an accepted mutation may owe a peer a
    message, and its retries must not change the state a refused one is compared against."""
    for key in ("provider", "consumer"):
        client = live.space[key].client
        for kind in ("negotiations", "transfers"):
            for row in await client.call("GET", "/" + kind):
                settled = await client.wait_for(kind, row["id"], [row["state"]], timeout=30)
                assert not settled["pending"], settled
    for key in ("provider", "consumer"):
        live.space[key].connector.runner.stop()


def test_mutated_dsp_messages(live: LiveSpace) -> None:
    space = live.space
    live.run(lambda: _quiet(live))
    base = space["provider"].settings.dsp_base
    spec = httpx.get(space["provider"].settings.public_url + "/openapi.json").json()
    pids = {
        "pid": live.made["negotiation"]["peer_pid"],
        "tpid": live.made["transfer"]["peer_pid"],
    }
    seen: dict[int, int] = {}
    known = [_snapshot(live)]  # the state before the next message; re-read after a 2xx only

    @given(case=mutated(live.made))
    @settings(
        max_examples=EXAMPLES * 12,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: tuple[str, Any]) -> None:
        name, body = case
        path = ENDPOINTS[name].format(**pids)
        response = httpx.post(
            base + path,
            content=json.dumps(body, ensure_ascii=True).encode(),
            headers={
                "Authorization": f"Bearer {token(space)}",
                "Content-Type": "application/json",
            },
            timeout=30,
        )
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert response.status_code < 500, response.text
        assert response.status_code in _declared(spec, DSP_PATH + path), (
            path,
            response.status_code,
        )
        if response.status_code >= 400:
            error = response.json()
            assert error["@context"] == ["https://w3id.org/dspace/2025/1/context.jsonld"]
            assert error["@type"] in ("ContractNegotiationError", "TransferError")
            assert isinstance(error["code"], str) and error["reason"]
            assert _snapshot(live) == known[0], f"{path} refused {body!r}, something changed"
        else:
            known[0] = _snapshot(live)

    run()
    assert seen.get(400, 0) > 0  # the mutations reached the parsers, not only the token check
