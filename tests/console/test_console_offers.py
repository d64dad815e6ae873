"""Withdrawing an offer from the console's dataset page: a POST form with CSRF, never a GET;
the only offer has no button, and the API's refusal shows in plain words."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.conftest import Space, log_in
from tests.console.support import call, csrf_of, logged_in

DATASET = "urn:tsunagu:dataset:b:offers"
OPEN = {"permission": [{"action": "use"}]}


def _publish(space: Space) -> None:
    offers = [{"id": "urn:offer:b:old", "policy": OPEN}, {"id": "urn:offer:b:new", "policy": OPEN}]
    call(space, "b", "POST", "/datasets", json={"id": DATASET, "title": "水位", "offers": offers})


def _offer_ids(space: Space) -> set[str]:
    return {o["id"] for o in call(space, "b", "GET", f"/datasets/{DATASET}/offers")}


@pytest.mark.browser
def test_withdrawing_an_offer_by_clicking(space: Space, page: Any) -> None:
    _publish(space)
    log_in(page, space, "b")
    page.goto(space.url("b", "/console/dataset?id=" + DATASET))
    page.click('button[aria-label$="urn:offer:b:old"]')
    page.wait_for_url("**notice=withdrawn**")
    assert page.locator('[role="status"]').is_visible()
    assert page.locator("#offers").inner_text().count("urn:offer:b:") == 1
    assert _offer_ids(space) == {"urn:offer:b:new"}
    # one offer left: no button to take it away
    assert page.locator("#offers button").count() == 0


def test_withdraw_needs_post_and_csrf_and_refusals_read_plainly(space: Space) -> None:
    _publish(space)
    with logged_in(space, "b") as client:
        form = {"id": DATASET, "offer": "urn:offer:b:old"}
        assert client.get("/console/dataset/offer/withdraw", params=form).status_code == 405
        assert client.post("/console/dataset/offer/withdraw", data=form).status_code == 403
        assert _offer_ids(space) == {"urn:offer:b:old", "urn:offer:b:new"}

        csrf = csrf_of(client)
        done = client.post("/console/dataset/offer/withdraw", data=form | {"csrf": csrf})
        assert done.status_code == 303 and "notice=withdrawn" in done.headers["location"]
        # The API's answer carries over: the only offer is a conflict, an unknown one is not found.
        for offer, words, status in [
            ("urn:offer:b:new", "only offer", 409),
            ("urn:offer:b:old", "no offer", 404),
        ]:
            refused = client.post(
                "/console/dataset/offer/withdraw", data=form | {"offer": offer, "csrf": csrf}
            )
            assert refused.status_code == status and words in refused.text, refused.text
        assert _offer_ids(space) == {"urn:offer:b:new"}
