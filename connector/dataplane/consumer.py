"""The consumer's side of a pull transfer: keep its tokens fresh and read the data.

Tokens arrive in the provider's start message (stored on the transfer row). The consumer keeps
its working copy in `data_credential`, renews the access token before it expires (and once
more if the provider answers 401), and for a long stream keeps renewing while it is open. One
lock per transfer: two reads that both find the token old refresh once, not twice.

The endpoint and the refresh endpoint are the provider's word, so both are reached under the
outbound policy (connector/outbound): checked, pinned, no redirects; the refresh answer has a
deadline and a size cap (the data itself is streamed, as long as it runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import anyio
import httpx

from connector.clock import Clock
from connector.dataplane.addresses import endpoint_properties
from connector.dataplane.errors import BackendTimeout, BackendUnavailable
from connector.dataplane.metering import metered
from connector.dataplane.sources import Body, DataRequest, clean_subpath
from connector.dataplane.tokens import token_hash
from connector.dataplane.upstream import PASSED_HEADERS
from connector.errors import Conflict, ConnectorError, NotFound, PeerError
from connector.identity.access_tokens import MAX_LIFETIME_SECONDS
from connector.outbound import OutboundPolicy, PeerSession, fetch
from connector.protocol.formats import PULL, PUSH
from connector.protocol.roles import Role
from connector.store.audit_records import record_event
from connector.store.dataplane_queries import DataPlaneQueries
from connector.store.dataplane_tables import DataCredentialRow
from connector.store.store import Store
from connector.store.tables import TransferRow

log = logging.getLogger("tsunagu.dataplane")
REFRESH_MARGIN_SECONDS = 60  # renew when less than this is left
MAX_ERROR_BYTES = 64 * 1024
MAX_REFRESH_BYTES = 64 * 1024  # a token pair
REFRESH_DEADLINE_SECONDS = 10.0


class ProviderRefused(ConnectorError):
    """The provider's data plane refused; its status and code are passed on."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"the provider refused: {message}", code=code)
        self.status = status


class DataClient:
    def __init__(
        self,
        store: Store,
        queries: DataPlaneQueries,
        clock: Clock,
        http: PeerSession,
        control_http: httpx.AsyncClient,
        token_for: object,
        sinks: Any = None,
        *,
        policy: OutboundPolicy,
    ) -> None:
        self.store = store
        self.queries = queries
        self.clock = clock
        self.http = http
        self.control_http = control_http
        self.token_for = token_for  # audience DID -> self-issued ID token (the dispatcher's)
        self._locks: dict[str, asyncio.Lock] = {}
        self.sinks = sinks  # where pushed data of our push transfers lands
        self.policy = policy

    def transfer(self, transfer_id: str) -> TransferRow:
        with self.store.transaction() as tx:
            row = tx.process(TransferRow, transfer_id, role=Role.CONSUMER)
        # What a provider pushed is on our own disk: readable while suspended and once complete.
        pushed = row.format == PUSH and row.state in ("SUSPENDED", "COMPLETED")
        if row.state != "STARTED" and not pushed:
            raise Conflict(
                f"the transfer is {row.state}; data flows only while it is STARTED",
                code="transfer_not_started",
            )
        return row

    # -- tokens -------------------------------------------------------------------------------

    def _seed(self, row: TransferRow) -> DataCredentialRow:
        """Our credential for `row`, (re)taken from the start message when that is newer."""
        props = endpoint_properties(row.data_address)
        token = props.get("authorization")
        endpoint = (row.data_address or {}).get("endpoint")
        if not token or not isinstance(endpoint, str):
            raise Conflict("the provider sent no data address to pull from", code="no_data_address")
        origin = token_hash(token)
        current = self.queries.credential(row.id)
        if current is not None and current.origin == origin:
            return current
        seconds = int(props.get("expiresIn", MAX_LIFETIME_SECONDS) or MAX_LIFETIME_SECONDS)
        now = self.clock()
        credential = DataCredentialRow(
            transfer_id=row.id,
            endpoint=endpoint,
            access_token=token,
            refresh_token=props.get("refreshToken"),
            refresh_endpoint=props.get("refreshEndpoint"),
            # counted from the transfer's last change: the start message at the latest
            expires_at=min(_aware(row.updated_at), now) + timedelta(seconds=seconds),
            origin=origin,
            updated_at=now,
        )
        self.queries.save_credential(credential)
        return credential

    async def credential(self, row: TransferRow, *, force: bool = False) -> DataCredentialRow:
        lock = self._locks.setdefault(row.id, asyncio.Lock())
        async with lock:
            credential = await anyio.to_thread.run_sync(self._seed, row)
            left = (_aware(credential.expires_at) - self.clock()).total_seconds()
            if (force or left < REFRESH_MARGIN_SECONDS) and credential.refresh_token:
                credential = await self._refresh(row, credential)
            return credential

    async def _refresh(self, row: TransferRow, credential: DataCredentialRow) -> DataCredentialRow:
        assert credential.refresh_endpoint and credential.refresh_token
        token_for = self.token_for
        assert callable(token_for)
        try:
            response = await fetch(
                self.control_http,
                self.policy,
                "POST",
                credential.refresh_endpoint,
                json={"refresh_token": credential.refresh_token},
                headers={"Authorization": f"Bearer {token_for(row.counterparty_did)}"},
                max_bytes=MAX_REFRESH_BYTES,
                deadline=REFRESH_DEADLINE_SECONDS,
                what="the provider's refresh endpoint",
            )
        except PeerError as exc:
            raise PeerError(f"cannot reach the provider to refresh: {exc}") from exc
        if response.status != 200:
            raise _refused(response.status, response.body)
        try:
            data = json.loads(response.body)
        except ValueError as exc:
            raise PeerError("the provider's refresh answer is not JSON") from exc
        now = self.clock()
        renewed = DataCredentialRow(
            transfer_id=credential.transfer_id,
            endpoint=credential.endpoint,
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]),
            refresh_endpoint=credential.refresh_endpoint,
            expires_at=now + timedelta(seconds=int(data.get("expires_in", MAX_LIFETIME_SECONDS))),
            origin=credential.origin,
            updated_at=now,
        )
        await anyio.to_thread.run_sync(self.queries.save_credential, renewed)
        log.info("refreshed the data token of transfer %s", row.id)
        return renewed

    # -- reading --------------------------------------------------------------------------------

    async def open(self, transfer_id: str, request: DataRequest) -> Body:
        row = await anyio.to_thread.run_sync(self.transfer, transfer_id)
        if row.format == PUSH and self.sinks is not None:
            pushed: Body = await self.sinks.read(row)  # what the provider pushed to us
            return pushed
        if row.format != PULL:
            raise NotFound(f"transfers of format {row.format} carry no data here")
        credential = await self.credential(row)
        response = await self._get(credential, request)
        if response.status == 401 and credential.refresh_token:
            response.release()
            credential = await self.credential(row, force=True)
            response = await self._get(credential, request)
        if response.status >= 400:
            try:
                content = await response.content.read(MAX_ERROR_BYTES)
            finally:
                response.release()
            raise _refused(response.status, content)
        headers = {h: response.headers[h] for h in PASSED_HEADERS if h in response.headers}
        live = (
            response.headers.get("Content-Type", "").startswith(
                ("text/event-stream", "application/x-ndjson")
            )
            and "Content-Length" not in response.headers
        )
        chunks = _KeptFresh(self, row, response) if live else _Chunks(response)
        body = Body(chunks, status=response.status, headers=headers, live=live)
        return metered(body, functools.partial(self._received, row, request.subpath))

    def _received(self, row: Any, path: str, size: int, digest: str | None, complete: bool) -> None:
        """The audit entry of what one read brought in (connector.dataplane.metering)."""
        record = record_event(
            at=self.clock(),
            family="data",
            action="received",
            subject=row.id,
            peer=row.counterparty_did,
            details={
                "agreement": row.agreement_id,
                "path": path,
                "bytes": size,
                "sha256": digest,
                "complete": complete,
            },
        )
        with self.store.transaction() as tx:
            tx.add(record)

    async def _get(
        self, credential: DataCredentialRow, request: DataRequest
    ) -> aiohttp.ClientResponse:
        url = credential.endpoint
        sub = clean_subpath(request.subpath)
        if sub:
            url = f"{url}/{sub}"
        headers = {
            "Authorization": f"Bearer {credential.access_token}",
            "Accept": request.accept,
            "Accept-Encoding": request.accept_encoding or "identity",
        }
        if request.range:
            headers["Range"] = request.range
        self.policy.check_url(url, what="the provider's data endpoint")
        try:
            return await self.http.session().get(
                url,
                params=list(request.query),
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300),
            )
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise BackendTimeout("the provider's data plane did not answer") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise BackendUnavailable(
                f"the provider's data plane cannot be reached ({exc.__class__.__name__})"
            ) from exc


def _refused(status: int, content: bytes) -> ConnectorError:
    try:
        error = json.loads(content)["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "provider_error", f"the provider answered {status}"
    return ProviderRefused(status, code, message)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class _Chunks:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._response.content.readany()
        if not chunk:
            self._response.release()
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        if not self._response.closed:
            self._response.close()


class _KeptFresh(_Chunks):
    """A live stream whose token is renewed in the background while it is open."""

    def __init__(
        self, client: DataClient, row: TransferRow, response: aiohttp.ClientResponse
    ) -> None:
        super().__init__(response)
        self._task = asyncio.create_task(self._keep_fresh(client, row))

    @staticmethod
    async def _keep_fresh(client: DataClient, row: TransferRow) -> None:
        while True:
            credential = await anyio.to_thread.run_sync(client.queries.credential, row.id)
            if credential is None:
                return
            left = (_aware(credential.expires_at) - client.clock()).total_seconds()
            await asyncio.sleep(max(1.0, left - REFRESH_MARGIN_SECONDS))
            try:
                await client.credential(row, force=True)
            except ConnectorError as exc:
                log.warning("cannot refresh the token of transfer %s: %s", row.id, exc)
                await asyncio.sleep(5)

    async def aclose(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await super().aclose()
