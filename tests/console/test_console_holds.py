"""Held steps in the console: what a step waits for and since when, and starting a held
transfer from the page."""

from __future__ import annotations

from tests.console.conftest import Space
from tests.console.support import call, csrf_of, logged_in

DATASET = "urn:tsunagu:dataset:b:held"


def test_a_held_transfer_is_shown_and_started_from_the_page(space: Space) -> None:
    offer = {"@type": "Offer", "@id": "urn:offer:held", "permission": [{"action": "use"}]}
    call(
        space,
        "b",
        "POST",
        "/datasets",
        json={
            "id": DATASET,
            "title": "held",
            "offers": [{"policy": offer, "steps": {"transfer_start": "hold"}}],
        },
    )
    c = space["c"].client
    asked = call(
        space,
        "c",
        "POST",
        "/negotiations",
        json={"provider": space["b"].did, "dataset_id": DATASET},
    )
    done = space.run(lambda: c.wait_for("negotiations", asked["id"], ["FINALIZED"]))
    space.run(lambda: space["b"].client.wait_for("negotiations", done["peer_pid"], ["FINALIZED"]))
    transfer = call(space, "c", "POST", "/transfers", json={"agreement_id": done["agreement_id"]})
    requested = space.run(lambda: c.wait_for("transfers", transfer["id"], ["REQUESTED"]))
    pid = requested["peer_pid"]
    with logged_in(space, "b") as client:
        page = client.get("/console/transfers").text
        assert "start the transfer" in page
        assert f"/console/transfers/{pid}/approve" in page.replace("%3A", ":")
        answer = client.post(f"/console/transfers/{pid}/approve", data={"csrf": csrf_of(client)})
        assert answer.status_code == 303
    started = space.run(lambda: c.wait_for("transfers", transfer["id"], ["STARTED"]))
    assert started["state"] == "STARTED"
