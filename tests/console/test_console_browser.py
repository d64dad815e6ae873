"""The console in a real browser (Playwright driving Debian's chromium, headless).

Screenshots of every page land in the folder printed at the start (test-artifacts/console by
default, TSUNAGU_SCREENSHOTS to move it)."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from connector.demo.sources import MQTT_HOST, MQTT_PORT
from tests.console.conftest import Space, b_town_feed, log_in
from tests.console.support import call, console_of

pytestmark = pytest.mark.browser
PAGES = (
    "overview",
    "search",
    "datasets",
    "negotiations",
    "agreements",
    "transfers",
    "river",
    "audit",
)


def test_every_page_renders_without_errors(space: Space, page: Any, artifacts: Path) -> None:
    log_in(page, space, "c")
    for name in PAGES:
        page.goto(space.url("c", f"/console/{name}"))
        assert page.locator("h1").first.is_visible()
        assert (
            page.locator(f'nav a[href="/console/{name}"]').get_attribute("aria-current") == "page"
        )
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def test_logging_in_and_out(space: Space, page: Any) -> None:
    page.goto(space.url("c", "/console/overview"))
    page.wait_for_url("**/console/login**")
    page.fill("#token", "not-the-token")
    page.click("#login")
    assert page.locator(".error").is_visible()
    page.fill("#token", space["c"].settings.management_token)
    page.click("#login")
    page.wait_for_url("**/console/overview")
    assert space["c"].did in page.content()
    page.click("#logout")
    page.wait_for_url("**/console/login**")
    page.goto(space.url("c", "/console/overview"))
    page.wait_for_url("**/console/login**")  # the session is over


def test_the_language_switch(space: Space, page: Any) -> None:
    log_in(page, space, "c")
    assert page.locator("html").get_attribute("lang") == "ja"  # a Japanese municipality
    assert page.locator("h1").inner_text() == "概要"
    page.select_option("#lang", "en")
    page.click("#lang-apply")
    page.wait_for_url("**/console/overview")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Overview"
    page.keyboard.press("Tab")  # the skip link comes first, for keyboard users
    assert page.evaluate("document.activeElement.className") == "skip"


def test_approving_a_held_negotiation_by_clicking(space: Space, page: Any) -> None:
    dataset = "urn:tsunagu:dataset:b:held"
    offer = {"policy": {"permission": [{"action": "use"}]}, "requires_approval": True}
    call(space, "b", "POST", "/datasets", json={"id": dataset, "title": "水位", "offers": [offer]})
    started = call(
        space,
        "c",
        "POST",
        "/negotiations",
        json={"provider": space["b"].did, "dataset_id": dataset},
    )
    space.run(lambda: space["c"].client.wait_for("negotiations", started["id"], ["REQUESTED"]))
    log_in(page, space, "b")
    page.goto(space.url("b", "/console/negotiations"))
    row = page.locator("#negotiations tbody tr").filter(has_text=dataset)
    assert "承認待ち" in row.inner_text()
    row.locator("button.approve").click()
    page.wait_for_url("**/console/negotiations?notice=done")
    done = space.run(
        lambda: space["c"].client.wait_for("negotiations", started["id"], ["FINALIZED"])
    )
    assert done["state"] == "FINALIZED"
    provider = [n for n in call(space, "b", "GET", "/negotiations") if n["dataset_id"] == dataset]
    assert provider[0]["state"] == "FINALIZED"
    assert provider[0]["agreement_id"] == done["agreement_id"]
    page.goto(space.url("b", "/console/agreements"))
    assert done["agreement_id"] in page.content()


def test_a_form_with_bad_input_shows_why_and_stores_nothing(space: Space, page: Any) -> None:
    log_in(page, space, "b")
    page.goto(space.url("b", "/console/datasets"))
    page.fill("#ds-id", "urn:tsunagu:dataset:b:bad")
    page.fill("#ds-title", "<script>document.title='owned'</script>")
    page.fill("#ds-policy", '{"permission": [{"action": "usee"}]}')
    page.click("#publish")
    assert "usee" in page.locator(".error").inner_text()
    assert all(d["id"] != "urn:tsunagu:dataset:b:bad" for d in call(space, "b", "GET", "/datasets"))
    page.fill("#ds-policy", '{"permission": [{"action": "use"}]}')
    page.click("#publish")
    page.wait_for_url("**/console/datasets?notice=published")
    cell = page.locator("#datasets td.title").filter(has_text="<script>")
    assert cell.inner_text() == "<script>document.title='owned'</script>"  # text, not script
    assert "owned" not in page.title()


async def _publish(topic: str, reading: dict[str, Any]) -> None:
    async with aiomqtt.Client(MQTT_HOST, MQTT_PORT) as client:
        await client.publish(topic, json.dumps(reading))


def test_the_dashboard_follows_the_river_live(space: Space, page: Any, artifacts: Path) -> None:
    topic = f"tsunagu-test/{secrets.token_hex(4)}/b"
    source = {"type": "mqtt", "host": MQTT_HOST, "port": MQTT_PORT, "topic": topic + "/#"}
    dataset = b_town_feed()["dataset"]
    call(
        space,
        "b",
        "POST",
        "/datasets",
        json={
            "id": dataset,
            "title": "B町 河川水位",
            "data_address": source,
            "offers": [{"policy": {"permission": [{"action": "use"}]}}],
        },
    )
    c = space["c"].client
    started = call(
        space,
        "c",
        "POST",
        "/negotiations",
        json={"provider": space["b"].did, "dataset_id": dataset},
    )
    agreed = space.run(lambda: c.wait_for("negotiations", started["id"], ["FINALIZED"]))
    transfer = call(space, "c", "POST", "/transfers", json={"agreement_id": agreed["agreement_id"]})
    space.run(lambda: c.wait_for("transfers", transfer["id"], ["STARTED"]))

    log_in(page, space, "c")
    page.goto(space.url("c", "/console/river"))
    page.wait_for_selector("#live:not([hidden])")
    watch = console_of(space, "c").river
    deadline = time.monotonic() + 20
    while transfer["id"] not in watch.following:  # C村's watch reads the live stream
        assert time.monotonic() < deadline, watch.problems
        time.sleep(0.05)

    station = "https://w3id.org/tsunagu/id/station/tsunagu-river/churyu-ohashi"
    row = page.locator(f'#stations tr[data-station="{station}"]')
    mark = page.locator(f'g.station[data-station="{station}"]')
    assert mark.get_attribute("data-rank") == "0"

    def reading(at: str, metres: float) -> dict[str, Any]:
        return {"stationId": "B-01", "observedAt": at, "waterLevel": {"value": metres, "unit": "m"}}

    sent = time.monotonic()
    space.run(lambda: _publish(f"{topic}/B-01", reading("2026-04-01T09:00:00+09:00", 2.5)))
    row.locator(".value", has_text="2.50 m").wait_for(timeout=2000)  # within 2 s of the publish
    assert time.monotonic() - sent < 2
    assert row.get_attribute("data-rank") == "0"
    fill_below = mark.locator("circle").get_attribute("fill")

    sent = time.monotonic()
    space.run(lambda: _publish(f"{topic}/B-01", reading("2026-04-01T09:10:00+09:00", 4.3)))
    row.locator(".value", has_text="4.30 m").wait_for(timeout=2000)
    assert time.monotonic() - sent < 2
    assert row.locator(".level").inner_text() == "氾濫注意水位"  # B-01's caution level is 4.1 m
    assert row.locator(".alert").inner_text() == "2"
    assert mark.get_attribute("data-rank") == "2"
    assert mark.locator("circle").get_attribute("fill") != fill_below  # the colour changed
    page.screenshot(path=str(artifacts / "river-live.png"), full_page=True)


def test_the_flood_exchange_from_the_console_alone(
    space: Space, page: Any, browser: Any, artifacts: Path
) -> None:
    """Find the dataset, negotiate, approve, start the transfer, watch the river live, suspend
    the transfer and see it in the audit log: every step a click in a console."""
    from connector.demo.catalog_moment import _entry

    dataset = b_town_feed()["dataset"]
    topic = f"tsunagu-test/{secrets.token_hex(4)}/b"
    source = {"type": "mqtt", "host": MQTT_HOST, "port": MQTT_PORT, "topic": topic + "/#"}
    owner = browser.new_context(locale="ja-JP").new_page()  # B町's operator
    log_in(owner, space, "b")
    owner.goto(space.url("b", "/console/datasets"))
    owner.fill("#ds-id", dataset)
    owner.fill("#ds-title", "中流大橋 河川水位")
    owner.fill("#ds-address", json.dumps(source))
    owner.check("input[name=approval]")
    owner.click("#publish")
    owner.wait_for_url("**/console/datasets?notice=published")
    document = _entry(
        space["b"], "085901", dataset, title="中流大橋 河川水位", title_en="Churyu Bridge",
        keyword="水位", keyword_en="water level", theme="river-water-level",
    )  # fmt: skip
    call(space, "b", "POST", "/catalog/entries", json={"document": document, "format": "yaml"})

    log_in(page, space, "c")  # C村's operator
    page.goto(space.url("c", "/console/search"))
    page.click("#harvest")
    page.wait_for_url("**/console/search?notice=done")
    page.fill("#s-q", "水位")
    page.click("#search")
    page.locator("#hits tr").filter(has_text=dataset).locator("button.negotiate").click()
    page.wait_for_url("**/console/negotiations?notice=done")

    # C村's request reaches B町 a moment after C村's console answers: look again until it is there.
    approve = owner.locator("#negotiations tr").filter(has_text=dataset).locator("button.approve")
    deadline = time.monotonic() + 30
    while True:
        owner.goto(space.url("b", "/console/negotiations"))
        if approve.count():
            break
        assert time.monotonic() < deadline, "the request never reached B町"
        owner.wait_for_timeout(200)
    approve.click()
    owner.wait_for_url("**/console/negotiations?notice=done")
    deadline = time.monotonic() + 30
    while not any(n["state"] == "FINALIZED" for n in call(space, "c", "GET", "/negotiations")):
        assert time.monotonic() < deadline, "the negotiation never finished"
        time.sleep(0.1)

    page.goto(space.url("c", "/console/agreements"))
    page.locator("#agreements tr").filter(has_text=dataset).locator("button.start-transfer").click()
    page.wait_for_url("**/console/transfers?notice=done")
    watch = console_of(space, "c").river
    deadline = time.monotonic() + 30
    while not watch.following:
        assert time.monotonic() < deadline, watch.problems
        time.sleep(0.05)
    page.goto(space.url("c", "/console/river"))
    page.wait_for_selector("#live:not([hidden])")
    reading = {"stationId": "B-01", "observedAt": "2026-04-01T09:00:00+09:00",
               "waterLevel": {"value": 3.2, "unit": "m"}}  # fmt: skip
    space.run(lambda: _publish(f"{topic}/B-01", reading))
    page.locator("#stations td.value", has_text="3.20 m").wait_for(timeout=2000)

    page.goto(space.url("c", "/console/transfers"))
    page.locator("#transfers tr").filter(has_text="STARTED").locator("button.suspend").click()
    page.wait_for_url("**/console/transfers?notice=done")
    deadline = time.monotonic() + 30
    while "SUSPENDED" not in page.locator("#transfers").inner_text():
        assert time.monotonic() < deadline, "the transfer was never suspended"
        page.reload()
    page.goto(space.url("c", "/console/audit"))
    assert "SUSPENDED" in page.locator("table.entries").inner_text()
    page.screenshot(path=str(artifacts / "audit-after-suspend.png"), full_page=True)
    owner.context.close()


@pytest.mark.parametrize(
    ("path", "button", "busy"),
    [("search", "#harvest", "収集中…"), ("audit", "#verify", "検証中…")],
)
def test_a_long_operation_says_it_is_running_until_its_answer(
    space: Space, page: Any, path: str, button: str, busy: str
) -> None:
    """Harvesting and verifying take a while: once the form is sent, the button says what is
    running and cannot be pressed twice, until the answer replaces the page."""
    log_in(page, space, "c")
    page.goto(space.url("c", f"/console/{path}"))
    # What the button shows once the console's own submit handler has run (a listener added
    # after it runs after it), kept across the navigation the answer brings.
    page.evaluate(
        """(selector) => {
            const b = document.querySelector(selector);
            b.form.addEventListener("submit", () => sessionStorage.setItem(
                "sent", JSON.stringify([b.textContent, b.disabled])));
        }""",
        button,
    )
    with page.expect_navigation():
        page.click(button)
    assert page.evaluate("JSON.parse(sessionStorage.getItem('sent'))") == [busy, True]
    assert page.locator(button).inner_text() != busy and page.locator(button).is_enabled()
