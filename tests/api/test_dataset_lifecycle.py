"""A dataset's life at the management API: published with checked input, updated, retired
(new negotiations refused, agreements kept), removed only when nothing refers to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from connector.api.client import ManagementError
from connector.demo.localspace import LocalDataspace, Participant

pytestmark = pytest.mark.anyio

OPEN = {"@type": "Offer", "permission": [{"action": "use"}]}


@pytest.fixture
async def pair(
    tmp_path: Path, database_for: Callable[[str], str | None]
) -> AsyncIterator[tuple[Participant, Participant]]:
    async with LocalDataspace(tmp_path, database_url_for=database_for) as space:
        await space.start_authority()
        yield await space.add("provider", "A市"), await space.add("consumer", "C村")


async def _refused(client: Any, method: str, path: str, **kwargs: Any) -> ManagementError:
    with pytest.raises(ManagementError) as caught:
        await client.call(method, path, **kwargs)
    return caught.value


async def test_bad_dataset_input_is_refused_and_nothing_stored(
    pair: tuple[Participant, Participant], tmp_path: Path
) -> None:
    admin = pair[0].client
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"id": "water level", "title": "t"}, "invalid_request", "not an IRI"),
        ({"id": "no-scheme", "title": "t"}, "invalid_request", "not an IRI"),
        (
            {"id": "urn:x:1", "title": "t", "data_address": {"type": "file", "path": "/nope.csv"}},
            "data_address_missing_file",
            "/nope.csv",
        ),
        (
            {"id": "urn:x:1", "title": "t", "data_address": {"type": "file", "path": "rel.csv"}},
            "invalid_data_address",
            "absolute",
        ),
        (
            {"id": "urn:x:1", "title": "t", "data_address": {"type": "ftp", "path": "/"}},
            "invalid_data_address",
            "ftp",
        ),
        (
            {
                "id": "urn:x:1",
                "title": "t",
                "offers": [{"policy": {"permission": [{"action": "frobnicate"}]}}],
            },
            "invalid_policy",
            "frobnicate",
        ),
    ]
    for body, code, words in cases:
        error = await _refused(admin, "POST", "/datasets", json=body)
        assert (error.code, words in str(error)) == (code, True), (body, error)
    assert await admin.call("GET", "/datasets") == []

    data = tmp_path / "levels.csv"
    data.write_text("t,level\n")
    made = await admin.call(
        "POST",
        "/datasets",
        json={
            "id": "urn:x:1",
            "title": "t",
            "data_address": {"type": "file", "path": str(data)},
            "offers": [{"id": "urn:offer:1", "policy": OPEN}],
        },
    )
    assert made["state"] == "published" and made["offers"][0]["id"] == "urn:offer:1"


async def test_an_offer_id_is_unique_on_a_participant(
    pair: tuple[Participant, Participant],
) -> None:
    admin = pair[0].client
    offer = {"id": "urn:offer:shared", "policy": OPEN}
    await admin.call("POST", "/datasets", json={"id": "urn:a", "title": "a", "offers": [offer]})
    error = await _refused(
        admin, "POST", "/datasets", json={"id": "urn:b", "title": "b", "offers": [offer]}
    )
    assert error.code == "offer_id_taken" and "urn:a" in str(error)
    assert "UNIQUE" not in str(error) and "constraint" not in str(error)
    error = await _refused(admin, "POST", "/datasets/urn:a/offers", json=offer)
    assert error.code == "offer_id_taken"
    error = await _refused(
        admin,
        "POST",
        "/datasets",
        json={"id": "urn:c", "title": "c", "offers": [offer | {"id": "urn:o:2"}] * 2},
    )
    assert error.code == "offer_id_taken"
    assert [d["id"] for d in await admin.call("GET", "/datasets")] == ["urn:a"]


async def test_update_retire_remove(pair: tuple[Participant, Participant], tmp_path: Path) -> None:
    provider, consumer = pair
    admin = provider.client
    await admin.call(
        "POST",
        "/datasets",
        json={"id": "urn:ds:kept", "title": "old", "offers": [{"policy": OPEN}]},
    )
    await admin.call(
        "POST", "/datasets", json={"id": "urn:ds:spare", "title": "s", "offers": [{"policy": OPEN}]}
    )

    # update: only the fields given change; a bad data address changes nothing
    data = tmp_path / "x.csv"
    data.write_text("a\n1\n")
    error = await _refused(
        admin,
        "PATCH",
        "/datasets/urn:ds:kept",
        json={"data_address": {"type": "file", "path": "/no"}},
    )
    assert error.code == "data_address_missing_file"
    updated = await admin.call(
        "PATCH",
        "/datasets/urn:ds:kept",
        json={"title": "new", "data_address": {"type": "file", "path": str(data)}},
    )
    assert updated["title"] == "new" and updated["data_address"]["path"] == str(data)
    assert (await _refused(admin, "PATCH", "/datasets/urn:none", json={"title": "x"})).code == (
        "unknown_dataset"
    )

    # an agreement made before retirement stays usable
    started = await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": "urn:ds:kept"}
    )
    done = await consumer.client.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED"

    retired = await admin.call("POST", "/datasets/urn:ds:kept/retire", json={"reason": "moved"})
    assert retired["state"] == "retired" and retired["retired_at"]
    again = await admin.call("POST", "/datasets/urn:ds:kept/retire")
    assert again["retired_at"] == retired["retired_at"]

    catalog = await consumer.client.call("GET", "/catalog", params={"provider": provider.did})
    assert [d["@id"] for d in catalog["dataset"]] == ["urn:ds:spare"]

    # a new negotiation, even with the offer in hand, is refused with a DSP error naming why
    offer = done["offer"]
    second = await consumer.client.call(
        "POST",
        "/negotiations",
        json={"provider": provider.did, "dataset_id": "urn:ds:kept", "offer": offer},
    )
    refused = await consumer.client.wait_for(
        "negotiations", second["id"], ["FINALIZED"], timeout=20
    )
    assert refused["state"] == "TERMINATED"
    assert "dataset_retired" in (refused["last_error"] or "")

    transfer = await consumer.client.call(
        "POST", "/transfers", json={"agreement_id": done["agreement_id"]}
    )
    started_transfer = await consumer.client.wait_for(
        "transfers", transfer["id"], ["STARTED"], timeout=20
    )
    assert started_transfer["state"] == "STARTED"

    # remove: refused while anything refers to it, done when nothing does
    error = await _refused(admin, "DELETE", "/datasets/urn:ds:kept")
    assert error.code == "dataset_in_use" and "retire" in str(error)
    assert await admin.call("DELETE", "/datasets/urn:ds:spare") == {
        "id": "urn:ds:spare",
        "removed": True,
    }
    assert [d["id"] for d in await admin.call("GET", "/datasets")] == ["urn:ds:kept"]
    assert (await _refused(admin, "DELETE", "/datasets/urn:ds:spare")).code == "unknown_dataset"


async def test_each_change_is_an_event_in_the_audit_trail(
    pair: tuple[Participant, Participant],
) -> None:
    from sqlmodel import col, select

    from connector.store.tables import EventRow

    provider = pair[0]
    admin = provider.client
    await admin.call("POST", "/datasets", json={"id": "urn:ds:e", "title": "t"})
    await admin.call("PATCH", "/datasets/urn:ds:e", json={"title": "u"})
    await admin.call("POST", "/datasets/urn:ds:e/retire", json={"reason": "old"})
    await admin.call("POST", "/datasets/urn:ds:e/retire", json={})  # no change, no event
    await admin.call("DELETE", "/datasets/urn:ds:e")
    with provider.connector.store.transaction() as tx:
        events = tx.session.exec(
            select(EventRow).where(col(EventRow.process) == "dataset").order_by(col(EventRow.seq))
        ).all()
    assert [(e.message, e.from_state, e.to_state) for e in events] == [
        ("DatasetPublished", None, "published"),
        ("DatasetUpdated", "published", "published"),
        ("DatasetRetired", "published", "retired"),
        ("DatasetRemoved", "retired", "removed"),
    ]
    assert events[1].detail == {"fields": ["title"]} and events[2].detail == {"reason": "old"}
    assert {e.process_id for e in events} == {"urn:ds:e"} and events[0].peer_did == provider.did


async def test_withdrawing_an_offer(pair: tuple[Participant, Participant]) -> None:
    provider, consumer = pair
    admin = provider.client
    offers = [{"id": "urn:offer:old", "policy": OPEN}, {"id": "urn:offer:new", "policy": OPEN}]
    await admin.call("POST", "/datasets", json={"id": "urn:ds:w", "title": "w", "offers": offers})
    started = await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": "urn:ds:w"}
    )
    done = await consumer.client.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED"

    # a wrong offer, a wrong dataset, or an offer of another dataset: 404, nothing changes
    await admin.call("POST", "/datasets", json={"id": "urn:ds:x", "title": "x"})
    for path, code in [
        ("/datasets/urn:ds:w/offers/urn:offer:none", "unknown_offer"),
        ("/datasets/urn:ds:x/offers/urn:offer:old", "unknown_offer"),
        ("/datasets/urn:ds:none/offers/urn:offer:old", "unknown_dataset"),
    ]:
        assert (await _refused(admin, "DELETE", path)).code == code, path
    assert len(await admin.call("GET", "/datasets/urn:ds:w/offers")) == 2

    assert await admin.call("DELETE", "/datasets/urn:ds:w/offers/urn:offer:old") == {
        "dataset": "urn:ds:w",
        "offer": "urn:offer:old",
        "removed": True,
    }
    assert [o["id"] for o in await admin.call("GET", "/datasets/urn:ds:w/offers")] == [
        "urn:offer:new"
    ]
    catalog = await consumer.client.call("GET", "/catalog", params={"provider": provider.did})
    (entry,) = [d for d in catalog["dataset"] if d["@id"] == "urn:ds:w"]
    policies = entry["hasPolicy"] if isinstance(entry["hasPolicy"], list) else [entry["hasPolicy"]]
    assert [p["@id"] for p in policies] == ["urn:offer:new"]

    # the last offer stays: a dataset without offers could not be negotiated at all
    error = await _refused(admin, "DELETE", "/datasets/urn:ds:w/offers/urn:offer:new")
    assert error.code == "last_offer" and "retire" in str(error)
    assert len(await admin.call("GET", "/datasets/urn:ds:w/offers")) == 1

    # the withdrawal is in the audit trail, once (the refusals changed nothing)
    from sqlmodel import col, select

    from connector.store.tables import EventRow

    with provider.connector.store.transaction() as tx:
        events = tx.session.exec(
            select(EventRow).where(col(EventRow.message) == "OfferWithdrawn")
        ).all()
    assert [(e.process_id, e.detail) for e in events] == [("urn:ds:w", {"offer": "urn:offer:old"})]

    # what was agreed under the withdrawn offer stays usable
    transfer = await consumer.client.call(
        "POST", "/transfers", json={"agreement_id": done["agreement_id"]}
    )
    moved = await consumer.client.wait_for("transfers", transfer["id"], ["STARTED"], timeout=20)
    assert moved["state"] == "STARTED"
