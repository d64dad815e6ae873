"""A client for a connector's management API, used by the CLI and the demo."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpx

from connector.errors import ConnectorError, PeerError
from connector.settings import Settings


class ManagementError(ConnectorError):
    """The management API answered with an error."""


class ManagementClient:
    def __init__(self, base_url: str, token: str, *, http: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=90.0))
        self._headers = {"Authorization": f"Bearer {token}"}

    @classmethod
    def for_settings(cls, settings: Settings) -> ManagementClient:
        host = "127.0.0.1" if settings.bind in ("0.0.0.0", "::") else settings.bind
        return cls(f"http://{host}:{settings.port}", settings.management_token)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ManagementClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base_url}/management{path}"
        try:
            response = await self._http.request(method, url, headers=self._headers, **kwargs)
        except httpx.HTTPError as exc:
            raise PeerError(
                f"cannot reach the connector at {self.base_url} ({exc.__class__.__name__}); "
                "is `tsunagu serve` running?",
                code="connector_unreachable",
            ) from exc
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                raise ManagementError(error["message"], code=error["code"])
            except (ValueError, KeyError, TypeError):
                raise ManagementError(f"{method} {path} answered {response.status_code}") from None
        return response.json()

    async def text(self, method: str, path: str, **kwargs: Any) -> str:
        """An answer that is not JSON (RDF, say); errors as `call` reports them."""
        url = f"{self.base_url}/management{path}"
        try:
            response = await self._http.request(method, url, headers=self._headers, **kwargs)
        except httpx.HTTPError as exc:
            raise PeerError(
                f"cannot reach the connector at {self.base_url} ({exc.__class__.__name__})",
                code="connector_unreachable",
            ) from exc
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                raise ManagementError(f"{method} {path} answered {response.status_code}") from None
            raise ManagementError(error["message"], code=error["code"])
        return response.text

    async def lines(self, method: str, path: str, **kwargs: Any) -> AsyncIterator[Any]:
        """A streamed answer of one JSON value per line (e.g. harvest progress)."""
        url = f"{self.base_url}/management{path}"
        try:
            async with self._http.stream(method, url, headers=self._headers, **kwargs) as response:
                if response.status_code >= 400:
                    await response.aread()
                    try:
                        error = response.json()["error"]
                    except (ValueError, KeyError, TypeError):
                        raise ManagementError(
                            f"{method} {path} answered {response.status_code}"
                        ) from None
                    raise ManagementError(error["message"], code=error["code"])
                async for line in response.aiter_lines():
                    if line.strip():
                        yield json.loads(line)
        except httpx.HTTPError as exc:
            raise PeerError(
                f"cannot reach the connector at {self.base_url} ({exc.__class__.__name__})",
                code="connector_unreachable",
            ) from exc

    # -- conveniences ---------------------------------------------------------------------------

    async def wait_for(
        self,
        kind: str,
        pid: str,
        states: Iterable[str],
        *,
        timeout: float = 30.0,
        or_waiting: bool = False,
        on_update: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Wait until a negotiation or transfer settles in one of `states` (or TERMINATED),
        or with `or_waiting` until a step waits for the operator; the connector holds the
        answer until then (a long-poll), so nothing polls. With `on_update`, each answer is
        shown to it and the long-poll is cut to a second, so a progress display can tell the
        state it is waiting in."""
        deadline = time.monotonic() + timeout
        states = list(states)
        params = [("wait", s) for s in states] + ([("or_waiting", "true")] if or_waiting else [])
        hold = 1.0 if on_update else 60.0
        while True:
            left = max(0.0, deadline - time.monotonic())
            record: dict[str, Any] = await self.call(
                "GET", f"/{kind}/{pid}", params=[*params, ("timeout", f"{min(left, hold):.3f}")]
            )
            if on_update is not None:
                on_update(record)
            if or_waiting and record.get("waiting"):
                return record
            settled = not record.get("pending")
            if settled and (record["state"] in set(states) | {"TERMINATED"}):
                return record
            if time.monotonic() >= deadline:
                raise ManagementError(
                    f"{kind[:-1]} {pid} still {record['state']} after {timeout:.0f}s"
                    + (
                        f" (last error: {record['last_error']})" if record.get("last_error") else ""
                    ),
                    code="timeout",
                )
