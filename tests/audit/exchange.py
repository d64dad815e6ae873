"""Two municipalities that exchange under an agreement, and an auditor both allow."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx

from connector.demo.localspace import LocalDataspace, Participant
from tests.e2e.conftest import COUNCIL, members_offer, publish

DATASET = "urn:tsunagu:dataset:202151:river"


async def auditable_space(
    tmp_path: Path, database_for: Callable[[str], str | None] = lambda _key: None
) -> AsyncIterator[LocalDataspace]:
    async with LocalDataspace(tmp_path, database_url_for=database_for) as space:
        await space.start_authority()
        auditor = await space.add("auditor", "監査法人", role="auditor")
        await space.add("provider", "A市", memberships=[COUNCIL])
        await space.add("consumer", "C村", memberships=[COUNCIL])
        for key in ("provider", "consumer"):
            await space.reconfigure(key, audit_auditors=(auditor.did,))
        yield space


async def settled(*participants: Participant) -> None:
    """Until every receipt owed is delivered (the exchange's loop runs in the background)."""
    async with httpx.AsyncClient() as http:
        for p in participants:
            # the last exchanges' entries (and the receipts they owe) may still wait for the
            # store's sealer: sealed now, so one run of the loop sees every receipt owed
            await p.connector.store.call(p.connector.store.caught_up)
            for _ in range(200):
                await p.connector.receipts.run_once()
                response = await http.get(
                    p.settings.public_url + "/audit/receipts/outbox",
                    headers={"Authorization": f"Bearer {p.settings.management_token}"},
                )
                body = response.json()
                if not body["receipts"]:
                    break
            assert body["receipts"] == [], body
    for p in participants:  # and every cosignature asked for, whatever the interval
        await p.connector.receipts.witness_now()


async def exchange(space: LocalDataspace, *, first: bool = True) -> tuple[str, str]:
    """A negotiation, then a transfer started and completed: three exchanges (the first one
    publishes the dataset)."""
    provider, consumer = space["provider"], space["consumer"]
    if first:
        await publish(provider, DATASET, members_offer("urn:offer:river"))
    started = await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )
    done = await consumer.client.wait_for("negotiations", started["id"], ["FINALIZED"])
    row = next(
        n
        for n in await provider.client.call("GET", "/negotiations")
        if n["agreement_id"] == done["agreement_id"]
    )
    await provider.client.wait_for("negotiations", row["id"], ["FINALIZED"])
    transfer = await consumer.client.call(
        "POST", "/transfers", json={"agreement_id": done["agreement_id"]}
    )
    await consumer.client.wait_for("transfers", transfer["id"], ["STARTED"])
    theirs = next(
        t
        for t in await provider.client.call("GET", "/transfers")
        if t["agreement_id"] == done["agreement_id"]
    )
    await provider.client.wait_for("transfers", theirs["id"], ["STARTED"])
    await consumer.client.call("POST", f"/transfers/{transfer['id']}/complete", json={})
    await consumer.client.wait_for("transfers", transfer["id"], ["COMPLETED"])
    await provider.client.wait_for("transfers", theirs["id"], ["COMPLETED"])
    await settled(provider, consumer)
    return done["agreement_id"], transfer["id"]
