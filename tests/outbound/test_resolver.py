"""The system resolver keeps an answer for a few seconds: one lookup, not one per message."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from connector.outbound import OutboundUnresolved, SystemResolver

pytestmark = pytest.mark.anyio


async def test_an_answer_is_kept_for_its_ttl_and_asked_again_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    asked: list[str] = []
    real = loop.getaddrinfo

    async def counting(host: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(host)
        return await real(host, *args, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", counting)
    resolver = SystemResolver(ttl=0.2)
    first = await resolver.resolve("localhost", 80)
    assert "127.0.0.1" in first
    assert await resolver.resolve("localhost", 80) == first
    assert asked == ["localhost"]
    first.clear()  # a caller's list is its own: the kept answer stays whole
    assert "127.0.0.1" in await resolver.resolve("localhost", 80)
    await asyncio.sleep(0.25)
    await resolver.resolve("localhost", 80)
    assert asked == ["localhost", "localhost"]


async def test_a_failed_lookup_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    answers: list[Any] = [socket.gaierror("no such name"), None]

    async def flaky(*_args: Any, **_kwargs: Any) -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", 80))]

    monkeypatch.setattr(loop, "getaddrinfo", flaky)
    resolver = SystemResolver()
    with pytest.raises(OutboundUnresolved):
        await resolver.resolve("partner.test", 80)
    assert await resolver.resolve("partner.test", 80) == ["127.0.0.2"]
