"""Operators' actions and the facts beside state changes are entries too."""

from __future__ import annotations

import json

import httpx
import pytest

from connector.audit.client import AuditReader
from connector.demo.localspace import LocalDataspace, Participant
from tests.audit.exchange import exchange
from tests.e2e.conftest import members_offer, publish

pytestmark = pytest.mark.anyio


async def kinds_of(p: Participant) -> list[dict[str, object]]:
    async with httpx.AsyncClient() as http:
        reader = AuditReader(http, p.settings.public_url, p.settings.management_token)
        _size, served = await reader.entries()
    return [json.loads(e.body) for e in served]


async def test_publishing_a_dataset_is_recorded_with_its_offer(participant: Participant) -> None:
    await publish(participant, "urn:ds:facts", members_offer("urn:offer:facts"))
    entries = await kinds_of(participant)
    assert [(e["kind"], e["subject"]) for e in entries] == [
        ("dataset.transition", "urn:ds:facts"),  # DatasetPublished, by the management API
        ("offer.published", "urn:offer:facts"),
    ]
    assert len(entries[1]["details"]["policy_sha256"]) == 64  # type: ignore[index]


async def test_revoking_an_agreement_is_recorded(space: LocalDataspace) -> None:
    agreement, _transfer = await exchange(space)
    provider = space["provider"]
    await provider.client.call(
        "POST", f"/agreements/{agreement}/revoke", json={"reason": "the basin plan ended"}
    )
    revoked = [e for e in await kinds_of(provider) if e["kind"] == "agreement.revoked"]
    assert [(e["subject"], e["details"]) for e in revoked] == [
        (agreement, {"event": revoked[0]["details"]["event"], "reason": "the basin plan ended"})  # type: ignore[index]
    ]
