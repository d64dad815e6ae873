"""A round-robin HTTP reverse proxy on loopback, for several processes of one participant.

Each request goes to the next backend in turn, so consecutive requests of one client (even on
one kept-alive connection) are served by different processes. A backend that refuses the
connection (a process that is down or restarting) is skipped for the next one, as nginx's
`proxy_next_upstream error` does; a request that reached a backend is never sent twice (it may
have changed something), so a backend dying mid-request answers 502, which DSP senders retry.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import httpx

from connector.serving import BackgroundServer

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


class RoundRobinProxy:
    """An ASGI app forwarding every request to the next of `backends` (base URLs)."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = [b.rstrip("/") for b in backends]
        self.served: Counter[str] = Counter()  # backend -> requests it answered
        self._turn = itertools.cycle(range(len(self.backends)))
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:  # made in the running loop
            timeout = httpx.Timeout(330.0, connect=2.0)  # long-polls wait up to 300 s
            self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in _HOP_BY_HOP
        ]
        target = scope["raw_path"].decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        http = self._client()
        for _ in self.backends:
            backend = self.backends[next(self._turn)]
            request = http.build_request(
                scope["method"], backend + target, headers=headers, content=bytes(body)
            )
            try:
                response = await http.send(request, stream=True)
            except httpx.ConnectError:
                continue  # nothing was sent: the next backend may take it
            except httpx.HTTPError:
                await _answer(send, 502, b"the backend failed mid-request")
                return
            try:
                await self._relay(response, send)
                self.served[backend] += 1
            finally:
                await response.aclose()
            return
        await _answer(send, 502, b"no backend is up")

    @staticmethod
    async def _relay(response: httpx.Response, send: Any) -> None:
        headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.headers.multi_items()
            if k.lower() not in _HOP_BY_HOP - {"content-length"}
        ]
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        try:
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.HTTPError:
            pass  # the backend died while answering: the client sees a short body
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _answer(send: Any, status: int, text: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(text)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": text})


async def serve_proxy(backends: list[str], port: int) -> tuple[RoundRobinProxy, BackgroundServer]:
    proxy = RoundRobinProxy(backends)
    server = BackgroundServer(proxy, host="127.0.0.1", port=port)
    await server.start()
    return proxy, server
