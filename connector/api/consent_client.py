"""Clients for consent: the operator's (over the management API) and a resident portal's
(over `/consent-portal`, with the portal's own token)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from connector.api.client import ManagementClient, ManagementError
from connector.errors import PeerError


def consent_body(
    subject: str | None,
    *,
    purposes: Sequence[str],
    recipients: Sequence[str],
    datasets: Sequence[str] = (),
    valid_from: str | None = None,
    valid_until: str | None = None,
    legal_basis: str | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"purposes": list(purposes), "recipients": list(recipients)}
    if subject is not None:
        body["subject"] = subject
    for name, value in (
        ("datasets", list(datasets)),
        ("valid_from", valid_from),
        ("valid_until", valid_until),
        ("legal_basis", legal_basis),
        ("notice", notice),
    ):
        if value:
            body[name] = value
    return body


class ConsentClient:
    """The operator's consent calls, through a connector's management API."""

    def __init__(self, management: ManagementClient) -> None:
        self.management = management

    async def give(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.management.call("POST", "/consents", json=body)
        return result

    async def withdraw(self, record_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.management.call(
            "POST", f"/consents/{record_id}/withdraw"
        )
        return result

    async def records(
        self, *, subject: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("subject", subject), ("status", status)) if v}
        result: list[dict[str, Any]] = await self.management.call("GET", "/consents", params=params)
        return result

    async def show(self, record_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.management.call("GET", f"/consents/{record_id}")
        return result

    async def add_portal(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.management.call(
            "POST", "/consent-portals", json={"name": name}
        )
        return result

    async def portals(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.management.call("GET", "/consent-portals")
        return result

    async def revoke_portal(self, portal_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.management.call(
            "POST", f"/consent-portals/{portal_id}/revoke"
        )
        return result


class PortalClient:
    """What a resident-facing portal calls: one subject at a time, with the portal's token."""

    def __init__(self, base_url: str, token: str, *, http: httpx.AsyncClient | None = None):
        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.AsyncClient(timeout=30.0)
        self._headers = {"Authorization": f"Bearer {token}"}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> PortalClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base_url}/consent-portal{path}"
        try:
            response = await self._http.request(method, url, headers=self._headers, **kwargs)
        except httpx.HTTPError as exc:
            raise PeerError(
                f"cannot reach the connector at {self.base_url}", code="connector_unreachable"
            ) from exc
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                raise ManagementError(f"{method} {path} answered {response.status_code}") from None
            raise ManagementError(error["message"], code=error["code"])
        return response.json()

    async def give(self, subject: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", f"/subjects/{subject}/consents", json=body)
        return result

    async def withdraw(self, subject: str, record_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(
            "POST", f"/subjects/{subject}/consents/{record_id}/withdraw"
        )
        return result

    async def records(self, subject: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.call("GET", f"/subjects/{subject}/consents")
        return result

    async def show(self, subject: str, record_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", f"/subjects/{subject}/consents/{record_id}")
        return result
