"""The composition root: everything a running connector needs is built here and passed down.

Nothing is constructed at import time, so several connectors can live in one process (the
tests and `tsunagu demo` rely on that).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI

from connector.clock import Clock, system_clock
from connector.control.catalog import CatalogService
from connector.control.changes import Changes
from connector.control.dispatcher import Dispatcher
from connector.control.negotiations import NegotiationService
from connector.control.process import ProcessLike
from connector.control.runner import Runner
from connector.control.transfers import TransferService
from connector.dataplane.consumer import DataClient
from connector.dataplane.plane import DataPlane
from connector.errors import ConnectorError
from connector.identity.credentials import CredentialVerifier
from connector.identity.did import DidResolver
from connector.identity.keys import KeyRing
from connector.identity.tokens import TokenVerifier, issue_id_token
from connector.outbound import AllowList, OutboundPolicy, Resolver, SystemResolver, pinned_client
from connector.settings import Settings
from connector.store.database import build_engine
from connector.store.migrate import upgrade
from connector.store.store import Store
from connector.store.tables import NegotiationRow, TransferRow
from policies.decision import BasicDecisionPoint

log = logging.getLogger("tsunagu")


@dataclass
class Connector:
    settings: Settings
    clock: Clock
    store: Store
    keys: KeyRing
    outbound: OutboundPolicy  # every request on a peer's word goes through it
    http: httpx.AsyncClient
    resolver: DidResolver
    verifier: TokenVerifier
    dispatcher: Dispatcher
    catalog: CatalogService
    negotiations: NegotiationService
    transfers: TransferService
    runner: Runner
    changes: Changes
    dataplane: DataPlane  # provider side: token-checked data endpoints
    consumer: DataClient  # consumer side: tokens kept fresh, data read from providers
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def did(self) -> str:
        return self.settings.did

    async def start(self) -> None:
        self.changes.bind(asyncio.get_running_loop())
        self.dataplane.bind()
        self._tasks.append(
            asyncio.create_task(self.runner.run_forever(), name=f"runner {self.did}")
        )

    async def aclose(self) -> None:
        self.runner.stop()
        try:
            for task in self._tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._tasks.clear()
            with contextlib.suppress(ConnectorError):  # a broken database: leases lapse instead
                await self.runner.release()
            await self.dataplane.aclose()
            await self.dispatcher.aclose()
            await self.http.aclose()
        finally:
            # Last, and whatever failed above: it waits for transactions that cancelled tasks
            # left running in worker threads (Store.dispose).
            self.store.dispose()


def build_connector(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    http: httpx.AsyncClient | None = None,
    resolver: Resolver | None = None,
    migrate: bool = True,
) -> Connector:
    """`resolver` answers the outbound policy's name lookups (default: the system's); tests
    use it to point names at addresses they must not reach."""
    keys = KeyRing.load(settings.directory, settings.did)  # before the engine: nothing to undo
    engine = build_engine(settings.database)
    if migrate:
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()  # else its pooled connection is garbage-collected while open
            raise
    store = Store(engine)
    outbound = OutboundPolicy(
        resolver=resolver or SystemResolver(),
        dev_mode=settings.dev_mode,
        allow=AllowList.parse(settings.outbound_allow),
        deadline_seconds=settings.outbound_deadline_seconds,
        max_response_bytes=settings.outbound_max_response_bytes,
    )
    http = http or pinned_client(outbound)
    dids = DidResolver(http, clock, dev_mode=settings.dev_mode, policy=outbound)
    credentials = CredentialVerifier(
        dids,
        http,
        clock,
        settings.trusted_authorities,
        dev_mode=settings.dev_mode,
        policy=outbound,
    )
    verifier = TokenVerifier(settings.did, dids, credentials, store, clock)
    credential_cache: dict[str, str] = {}

    def token_for(audience: str) -> str:
        if "vc" not in credential_cache:
            credential_cache["vc"] = settings.credential()
        return issue_id_token(
            keys.active,
            issuer=settings.did,
            audience=audience,
            credential=credential_cache["vc"],
            now=clock(),
        )

    dispatcher = Dispatcher(http, token_for, policy=outbound)
    pdp = BasicDecisionPoint()
    changes = Changes()
    dataplane = DataPlane(
        store,
        keys,
        clock,
        own_did=settings.did,
        public_url=settings.public_url,
        directory=settings.directory,
        outbound=outbound,
    )

    def negotiation_changed(row: ProcessLike) -> None:
        """After every commit that changes a negotiation: operators may be waiting for it."""
        changes.changed(row.id, row.state, owing=row.pending is not None)

    def transfer_changed(row: ProcessLike) -> None:
        """After every commit that changes a transfer: operators may be waiting for it, and
        the data plane cuts open streams or starts a push."""
        changes.changed(row.id, row.state, owing=row.pending is not None)
        dataplane.changed(
            row.id, role=row.role, state=row.state, format=getattr(row, "format", None)
        )

    def gave_up(pid: str) -> None:
        """The runner retried or gave up a send (which may end the process): whoever waits
        looks again, and a transfer's open streams are checked."""
        changes.changed(pid)
        dataplane.changed(pid)

    negotiations = NegotiationService(
        store,
        clock,
        own_did=settings.did,
        callback_address=settings.callback_address,
        provider_address=settings.dsp_base,
        pdp=pdp,
        notify=negotiation_changed,
    )
    transfers = TransferService(
        store,
        clock,
        own_did=settings.did,
        callback_address=settings.callback_address,
        pdp=pdp,
        addresses=dataplane.addresses,
        sinks=dataplane.sinks.new_address,  # a push request names a sink of ours
        notify=transfer_changed,
    )
    dataplane.pusher.transfers = transfers  # completes or terminates push transfers
    runner = Runner(
        store,
        dispatcher,
        clock,
        {NegotiationRow: negotiations, TransferRow: transfers},
        on_change=gave_up,
    )
    negotiations.outbox = transfers.outbox = runner  # what the services owe peers
    return Connector(
        settings=settings,
        clock=clock,
        store=store,
        keys=keys,
        outbound=outbound,
        http=http,
        resolver=dids,
        verifier=verifier,
        dispatcher=dispatcher,
        catalog=CatalogService(store, own_did=settings.did, dsp_base=settings.dsp_base),
        negotiations=negotiations,
        transfers=transfers,
        runner=runner,
        changes=changes,
        dataplane=dataplane,
        consumer=DataClient(
            store,
            dataplane.queries,
            clock,
            dataplane.peers,  # pull reads go where the provider says: under the policy
            http,
            token_for,
            dataplane.sinks,
            policy=outbound,
        ),
    )


def create_app(connector: Connector, *, run_background: bool = True) -> FastAPI:
    from connector.api.audit import router as audit_router
    from connector.api.catalog import router as catalog_router
    from connector.api.data import management as data_management_router
    from connector.api.data import router as data_router
    from connector.api.errors import install_error_handlers
    from connector.api.management import router as management_router
    from connector.api.processes import router as processes_router
    from connector.api.protocol import router as protocol_router
    from connector.api.vocab import vocab_router
    from connector.api.wellknown import router as wellknown_router

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_background:
            await connector.start()
        try:
            yield
        finally:
            await connector.aclose()

    app = FastAPI(
        title=f"tsunagu connector - {connector.settings.name}",
        summary="Dataspace Protocol 2025-1 endpoints for peers; management API for the operator.",
        lifespan=lifespan,
    )
    app.state.connector = connector
    install_error_handlers(app)
    app.include_router(wellknown_router)
    app.include_router(catalog_router)
    app.include_router(protocol_router)
    app.include_router(management_router)
    app.include_router(processes_router)
    app.include_router(data_router)  # the data plane: /data/...
    app.include_router(data_management_router)  # its operator endpoints
    app.include_router(vocab_router())  # the shared vocabulary: /vocab/...
    app.include_router(audit_router)  # the audit log: /audit/...
    return app
