"""Helpers shared by the console tests."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import httpx

from connector.console import Console
from tests.console.conftest import Space


def console_of(space: Space, key: str) -> Console:
    console: Console = space[key].server.server.config.app.state.console
    return console


@contextlib.contextmanager
def logged_in(space: Space, key: str) -> Iterator[httpx.Client]:
    """An HTTP client holding a console session of `key`."""
    with httpx.Client(base_url=space[key].settings.public_url, timeout=30) as client:
        yield _log_in(client, space, key)


def _log_in(client: httpx.Client, space: Space, key: str) -> httpx.Client:
    page = client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    answer = client.post(
        "/console/login",
        data={"csrf": csrf.group(1), "token": space[key].settings.management_token},
    )
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(client: httpx.Client, path: str = "/console/overview") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found
    return found.group(1)


def call(space: Space, key: str, method: str, path: str, **kwargs: Any) -> Any:
    return space.run(lambda: space[key].client.call(method, path, **kwargs))
