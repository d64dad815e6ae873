"""A logout holds on every process of one participant: they share its database."""

from __future__ import annotations

import dataclasses

import httpx

from connector.serving import free_port
from tests.console.conftest import Space
from tests.console.support import csrf_of, logged_in


def test_a_session_logged_out_on_one_process_is_refused_by_another(space: Space) -> None:
    b = space["b"].settings
    twin = dataclasses.replace(b, port=free_port())  # a second `tsunagu serve` of B町
    space.run(lambda: space.space.serve("b-twin", twin))
    with logged_in(space, "b") as first:
        cookies = dict(first.cookies)
        with httpx.Client(base_url=twin.public_url, cookies=cookies, timeout=30) as second:
            assert second.get("/console/overview").status_code == 200  # one session, both
            answer = first.post("/console/logout", data={"csrf": csrf_of(first)})
            assert answer.status_code == 303
            refused = second.get("/console/overview")
            assert refused.status_code == 303
            assert refused.headers["location"].startswith("/console/login")
        with httpx.Client(base_url=b.public_url, cookies=cookies, timeout=30) as again:
            assert again.get("/console/overview").status_code == 303  # and on the first
