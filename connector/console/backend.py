"""What the console reads and changes, through the connector's own management and audit APIs.

The console is a front end like the CLI: it calls the same HTTP API in-process (an ASGI
transport to the app it is mounted in), so every rule, check and event of the API applies to a
click exactly as to a `tsunagu` command, and the console holds no SQL of its own.
"""

from __future__ import annotations

from typing import Any

import httpx

from connector.errors import ConnectorError


class ConsoleError(ConnectorError):
    """The API refused what the operator asked; `message` says why in the API's words and
    `status` is the API's answer (a page showing the refusal answers with it too)."""

    status = 400

    def __init__(self, message: str, *, code: str | None = None, status: int = 400) -> None:
        super().__init__(message, code=code)
        self.status = status


class Backend:
    def __init__(self, app: Any, token: str) -> None:
        self._http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://console.invalid",
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(60.0),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                raise ConsoleError(
                    str(error["message"]), code=str(error["code"]), status=response.status_code
                )
            except (ValueError, KeyError, TypeError):
                raise ConsoleError(
                    f"{method} {path} answered {response.status_code}",
                    code="api_error",
                    status=response.status_code,
                ) from None
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    @property
    def http(self) -> httpx.AsyncClient:
        return self._http
