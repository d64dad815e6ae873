"""The operator's API: authenticated, documented, and clear about mistakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from connector.demo.localspace import LocalDataspace, Participant

pytestmark = pytest.mark.anyio


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[Participant]:
    async with LocalDataspace(tmp_path) as space:
        await space.start_authority()
        yield await space.add("provider", "A市")


async def test_management_needs_the_token(provider: Participant) -> None:
    base = provider.settings.public_url
    async with httpx.AsyncClient() as http:
        missing = await http.get(base + "/management/negotiations")
        wrong = await http.get(
            base + "/management/negotiations", headers={"Authorization": "Bearer nope"}
        )
        right = await http.get(
            base + "/management/negotiations",
            headers={"Authorization": f"Bearer {provider.settings.management_token}"},
        )
    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "operator_unauthenticated"
        assert "tsunagu.toml" in response.json()["error"]["message"]
    assert right.status_code == 200 and right.json() == []


async def test_openapi_documents_both_apis(provider: Participant) -> None:
    async with httpx.AsyncClient() as http:
        spec = (await http.get(provider.settings.public_url + "/openapi.json")).json()
        docs = await http.get(provider.settings.public_url + "/docs")
    assert docs.status_code == 200
    paths = spec["paths"]
    assert "/management/negotiations/{pid}/approve" in paths
    assert "/dsp/2025-1/negotiations/request" in paths


async def test_operator_mistakes_are_clear_json_errors(provider: Participant) -> None:
    client = provider.client
    from connector.api.client import ManagementError

    with pytest.raises(ManagementError) as caught:
        await client.call(
            "POST",
            "/datasets",
            json={"id": "urn:x", "title": "t", "offers": [{"policy": {"permission": []}}]},
        )
    assert caught.value.code == "invalid_policy"
    with pytest.raises(ManagementError) as caught:
        await client.call("GET", "/negotiations/urn:uuid:none")
    assert caught.value.code == "unknown_negotiation"
    with pytest.raises(ManagementError) as caught:
        await client.call("POST", "/datasets", json={"title": "no id"})
    assert caught.value.code == "invalid_request"
    await client.call("POST", "/datasets", json={"id": "urn:dup", "title": "t"})
    with pytest.raises(ManagementError) as caught:
        await client.call("POST", "/datasets", json={"id": "urn:dup", "title": "t"})
    assert caught.value.code == "dataset_exists"


@pytest.mark.parametrize(
    ("rule", "term"),
    [
        ({"action": "usee"}, "usee"),
        (
            {
                "action": "use",
                "constraint": [{"leftOperand": "purpse", "operator": "eq", "rightOperand": "x"}],
            },
            "purpse",
        ),
    ],
)
async def test_a_policy_outside_the_profile_is_refused_when_written(
    provider: Participant, rule: dict[str, object], term: str
) -> None:
    """A misspelt action or operand is named at once, and nothing is stored."""
    from connector.api.client import ManagementError

    offer = {"@type": "Offer", "permission": [rule]}
    body = {"id": "urn:x:typo", "title": "t", "offers": [{"policy": offer}]}
    with pytest.raises(ManagementError) as caught:
        await provider.client.call("POST", "/datasets", json=body)
    assert caught.value.code == "invalid_policy"
    assert term in str(caught.value)
    assert [d["id"] for d in await provider.client.call("GET", "/datasets")] == []
