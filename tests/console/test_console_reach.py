"""The console for everyone who must use it: readable on a tablet (no sideways scrolling), worked
by keyboard alone (tab order reaches the main actions, forms submit with Enter), and complete
offline (every asset from the wheel: no external URL in a page, no request off the origin)."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.console.conftest import Space, log_in
from tests.console.support import call, logged_in

pytestmark = pytest.mark.browser
PAGES = (
    "overview",
    "search",
    "datasets",
    "negotiations",
    "agreements",
    "transfers",
    "consents",
    "river",
    "audit",
)
HELD = "urn:tsunagu:dataset:b:keyboard"
# where a page could name another origin: attributes that load or go somewhere, and CSS url()
ADDRESSES = re.compile(
    r"""(?:src|href|action|srcset|data)\s*=\s*["']([^"']*)|url\(\s*["']?([^"')]*)"""
)


def _held_negotiation(space: Space) -> str:
    """A negotiation from C村 that waits for B町's approval; C村's process id."""
    offer = {"policy": {"permission": [{"action": "use"}]}, "requires_approval": True}
    call(space, "b", "POST", "/datasets", json={"id": HELD, "title": "水位", "offers": [offer]})
    ask = {"provider": space["b"].did, "dataset_id": HELD}
    started: str = call(space, "c", "POST", "/negotiations", json=ask)["id"]
    space.run(lambda: space["c"].client.wait_for("negotiations", started, ["REQUESTED"]))
    return started


def _off_origin(address: str, origin: str) -> bool:
    parts = urlsplit(address)
    if parts.scheme in ("data", "blob", "javascript") or address.startswith("#"):
        return parts.scheme == "javascript"
    return bool(parts.netloc) and f"{parts.scheme}://{parts.netloc}" != origin


def test_a_tablet_shows_every_page_without_sideways_scrolling_and_all_from_the_origin(
    space: Space, page: Any
) -> None:
    _held_negotiation(space)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.set_viewport_size({"width": 768, "height": 1024})
    for key in ("b", "c"):
        origin = space[key].settings.public_url.rstrip("/")
        requests.clear()
        log_in(page, space, key)
        for name in PAGES:
            page.goto(space.url(key, f"/console/{name}"))
            wide = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert wide[0] <= wide[1], (key, name, wide)
            html = page.content()
            found = [a or b for a, b in ADDRESSES.findall(html)]
            assert found and not [a for a in found if _off_origin(a, origin)], (name, found)
        assert [u for u in requests if _off_origin(u, origin)] == [], key
        page.click("#logout")
        page.wait_for_url("**/console/login**")

    # every asset the pages loaded is a file of the package (in the wheel), not fetched anywhere
    shipped = {f.name for f in resources.files("connector.console").joinpath("static").iterdir()}
    loaded = set(re.findall(r'/console/assets/([^"?]+)', page.content()))
    assert loaded and loaded <= shipped


def _tab_to(page: Any, selector: str, limit: int = 150) -> None:
    """Press Tab until the focus is on `selector` (the page's own tab order, as a user would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{limit} presses of Tab never reached {selector}")


def test_logging_in_and_approving_by_keyboard_alone(space: Space, page: Any) -> None:
    started = _held_negotiation(space)
    page.goto(space.url("b"))
    _tab_to(page, "#token")
    page.keyboard.type(space["b"].settings.management_token)
    page.keyboard.press("Enter")  # the form submits from its field
    page.wait_for_url("**/console/overview")

    _tab_to(page, 'nav a[href="/console/negotiations"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/negotiations")
    _tab_to(page, "#negotiations button.approve")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/negotiations?notice=done")
    done = space.run(lambda: space["c"].client.wait_for("negotiations", started, ["FINALIZED"]))
    assert done["state"] == "FINALIZED"


@pytest.mark.parametrize("key", ["b"])
def test_no_action_through_get(space: Space, key: str) -> None:
    """Every console route that acts is POST only (where a page shares its path, GET shows the
    form), and every form that is not a GET filter posts with the CSRF token."""
    from connector.console.web import router

    _held_negotiation(space)
    shown = {r.path for r in router.routes if "GET" in getattr(r, "methods", set())}  # type: ignore[attr-defined]
    acting = [
        r
        for r in router.routes
        if "POST" in getattr(r, "methods", set()) and r.path not in shown  # type: ignore[attr-defined]
    ]
    assert len(acting) >= 10
    with logged_in(space, key) as client:
        for route in acting:
            path = re.sub(r"\{[^}]+\}", "x", route.path)  # type: ignore[attr-defined]
            assert client.get(path).status_code == 405, path
        for name in PAGES:
            html = client.get(f"/console/{name}").text
            for form in re.findall(r"<form\b[^>]*>.*?</form>", html, flags=re.S):
                method = re.search(r'method="(\w+)"', form)
                assert method, form
                if method.group(1) == "get":
                    continue
                assert method.group(1) == "post" and 'name="csrf"' in form, (name, form)
