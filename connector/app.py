"""The composition root: everything a running connector needs is built here and passed down.

Nothing is constructed at import time, so several connectors can live in one process (the
tests and `tsunagu demo` rely on that).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
from fastapi import Depends, FastAPI

from connector.clock import Clock, system_clock
from connector.consent.service import ConsentService
from connector.control.catalog import CatalogService
from connector.control.changes import Changes
from connector.control.checkpoints import CheckpointSchedule
from connector.control.dispatcher import Dispatcher
from connector.control.holds import HoldWebhook
from connector.control.negotiations import NegotiationService
from connector.control.process import ProcessLike
from connector.control.receipts import ReceiptExchange
from connector.control.runner import Runner
from connector.control.transfers import TransferService
from connector.dataplane.consumer import DataClient
from connector.dataplane.plane import DataPlane
from connector.errors import ConnectorError
from connector.identity.credentials import CredentialVerifier
from connector.identity.did import DidResolver
from connector.identity.keys import KeyRing
from connector.identity.tokens import TokenVerifier, issue_id_token
from connector.metrics import Metrics
from connector.outbound import AllowList, OutboundPolicy, Resolver, SystemResolver, pinned_client
from connector.policy.access import DecisionAccessPolicy
from connector.policy.alert_audit import AlertRecorder
from connector.policy.digests import UsageDigests
from connector.policy.environment import PolicyEnvironment, load_geography
from connector.policy.monitor import PolicyMonitor
from connector.policy.notices import UsageNotices
from connector.policy.signatures import AgreementSigner
from connector.policy.visibility import visibility
from connector.settings import Settings
from connector.store.consent_queries import ConsentQueries
from connector.store.database import build_engine
from connector.store.migrate import upgrade
from connector.store.store import Store
from connector.store.tables import NegotiationRow, TransferRow

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
    receipts: ReceiptExchange  # audit receipts owed to peers, and theirs taken
    checkpoints: CheckpointSchedule  # the audit log's scheduled checkpoints
    metrics: Metrics  # this connector's own Prometheus registry (docs/operations.md)
    webhook: HoldWebhook | None = None  # told of every step that waits for the operator
    policy: PolicyEnvironment | None = None  # decision point, geography, flood alerts
    monitor: PolicyMonitor | None = None  # ends transfers whose agreement stopped holding
    consent: ConsentService | None = None  # consent records for personal data
    notices: UsageNotices | None = None  # `inform` duties, both sides
    signer: AgreementSigner | None = None  # both parties' signatures over each agreement
    credentials: CredentialVerifier | None = None  # readiness checks our own credential
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def did(self) -> str:
        return self.settings.did

    async def start(self) -> None:
        self.changes.bind(asyncio.get_running_loop())
        self.dataplane.bind()
        if self.webhook is not None:
            self.webhook.bind(asyncio.get_running_loop())
        if self.signer is not None:
            self.signer.bind(asyncio.get_running_loop())
        self._tasks.append(
            asyncio.create_task(self.runner.run_forever(), name=f"runner {self.did}")
        )
        if self.monitor is not None:
            self._tasks.append(
                asyncio.create_task(self.monitor.run_forever(), name=f"policy {self.did}")
            )
        self._tasks.append(
            asyncio.create_task(self.receipts.run_forever(), name=f"receipts {self.did}")
        )
        if self.checkpoints.enabled:
            self._tasks.append(
                asyncio.create_task(self.checkpoints.run_forever(), name=f"checkpoints {self.did}")
            )
        if self.settings.catalog_harvest_seconds:  # the federated catalogue's refresh
            from connector.control.harvest import harvest_forever, harvest_round

            every = self.settings.catalog_harvest_seconds
            task = harvest_forever(lambda: harvest_round(self), every)
            self._tasks.append(asyncio.create_task(task, name=f"harvest {self.did}"))

    async def aclose(self) -> None:
        self.runner.stop()
        self.receipts.stop()
        self.checkpoints.stop()
        try:
            for task in self._tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._tasks.clear()
            sparql = getattr(self, "_sparql", None)  # its worker process, if a query started one
            if sparql is not None:
                sparql.close()
            with contextlib.suppress(ConnectorError):  # a broken database: leases lapse instead
                await self.runner.release()
            await self.dataplane.aclose()
            if self.webhook is not None:
                await self.webhook.aclose()
            for duty in (self.signer, self.notices):  # their sends go through the dispatcher
                if duty is not None:
                    await duty.aclose()
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
    runner_owner: str | None = None,
) -> Connector:
    """`resolver` answers the outbound policy's name lookups (default: the system's); tests
    use it to point names at addresses they must not reach. `runner_owner` names this
    process's place among those sharing the database (see `Runner`); random when None."""
    keys = KeyRing.load(settings.directory, settings.did)  # before the engine: nothing to undo
    engine = build_engine(settings.database)
    if migrate:
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()  # else its pooled connection is garbage-collected while open
            raise
    store = Store(engine)
    store.own_did, store.clock = settings.did, clock  # for the facts the log records
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
    policy = PolicyEnvironment(load_geography(settings.directory))
    pdp = policy.pdp
    access = policy.access = DecisionAccessPolicy(pdp, store)
    changes = Changes()
    dataplane = DataPlane(
        store,
        keys,
        clock,
        own_did=settings.did,
        public_url=settings.public_url,
        directory=settings.directory,
        outbound=outbound,
        policy=access,
    )

    signer = AgreementSigner(store, clock, keys, dids, dispatcher, own_did=settings.did)

    def negotiation_changed(row: ProcessLike) -> None:
        """After every commit that changes a negotiation: operators may be waiting for it,
        and an agreement just recorded is signed."""
        changes.changed(row.id, row.state, owing=row.pending is not None)
        signer.changed(getattr(row, "agreement_id", None), row.state)

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
        owner=runner_owner,
        on_change=gave_up,
    )
    negotiations.outbox = transfers.outbox = runner  # what the services owe peers
    negotiations.holds = transfers.holds = settings.holds  # who takes each step
    webhook = (
        HoldWebhook(settings.holds.webhook, http, outbound) if settings.holds.webhook else None
    )
    negotiations.on_hold = transfers.on_hold = runner.on_hold = webhook
    monitor = PolicyMonitor(store, clock, transfers=transfers, access=access, dataplane=dataplane)
    policy.alerts.subscribe(monitor.wake)  # an alert over ends what held only during it
    policy.alerts.recorder = AlertRecorder(store, clock, settings.did)  # each change audited
    digests = UsageDigests(store, clock, dispatcher, keys, dids, own_did=settings.did)
    monitor.digests = digests  # `inform` digests go out on the monitor's rounds
    receipts = ReceiptExchange(store, dispatcher, clock, keys, dids, own_did=settings.did)
    store.receipts_owed = receipts.wake
    store.seal_pending()  # events a crash left between their commit and their audit entry
    crash_points = os.environ.get("TSUNAGU_CRASH_POINTS")
    if crash_points:  # the crash suite's kill points; nothing of it exists otherwise
        from connector.control.crash_points import install

        install(crash_points, runner, store)
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
        catalog=CatalogService(
            store,
            own_did=settings.did,
            dsp_base=settings.dsp_base,
            name=settings.name,
            # offers a requester's verified identity can never satisfy are not shown to it
            sees=lambda peer, offers: [
                v.visible
                for v in visibility(pdp, offers, {"did": peer.did, **peer.claims}, clock())
            ],
        ),
        negotiations=negotiations,
        transfers=transfers,
        runner=runner,
        changes=changes,
        dataplane=dataplane,
        webhook=webhook,
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
        policy=policy,
        monitor=monitor,
        receipts=receipts,
        checkpoints=CheckpointSchedule(
            store,
            keys,
            clock,
            own_did=settings.did,
            seconds=settings.audit_checkpoint_seconds,
            entries=settings.audit_checkpoint_entries,
        ),
        consent=ConsentService(
            ConsentQueries(store),
            keys,
            clock,
            own_did=settings.did,
            changed=lambda record, withdrawn: dataplane.consent.changed(
                record, withdrawn=withdrawn
            ),
        ),
        notices=UsageNotices(store, clock, dispatcher, own_did=settings.did, digests=digests),
        signer=signer,
        metrics=Metrics(store, clock),
        credentials=credentials,
    )


def create_app(connector: Connector, *, run_background: bool = True) -> FastAPI:
    from connector.api.audit import router as audit_router
    from connector.api.catalog import router as catalog_router
    from connector.api.catalog_management import router as catalog_management_router
    from connector.api.consent import management as consent_router
    from connector.api.consent import portal as consent_portal_router
    from connector.api.data import management as data_management_router
    from connector.api.data import router as data_router
    from connector.api.dcat import router as dcat_router
    from connector.api.door import check_request
    from connector.api.errors import document_errors, install_error_handlers
    from connector.api.exchange import router as exchange_router
    from connector.api.health import ObserveMiddleware
    from connector.api.health import router as health_router
    from connector.api.management import router as management_router
    from connector.api.policy import router as policy_router
    from connector.api.policy_protocol import router as policy_protocol_router
    from connector.api.processes import router as processes_router
    from connector.api.protocol import router as protocol_router
    from connector.api.schema import publish_true_statuses
    from connector.api.vocab import vocab_router
    from connector.api.wellknown import router as wellknown_router
    from connector.console import install_console

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_background:
            await connector.start()
            console.start()
        try:
            yield
        finally:
            try:
                await console.aclose()
            finally:
                await connector.aclose()

    app = FastAPI(
        title=f"tsunagu connector - {connector.settings.name}",
        summary="Dataspace Protocol 2025-1 endpoints for peers; management API for the operator.",
        lifespan=lifespan,
        dependencies=[Depends(check_request)],  # input limits at the door, for every route
    )
    app.state.connector = connector
    install_error_handlers(app)
    publish_true_statuses(app)
    document_errors(app)  # after: it adds to what the routes and ux's pass declare
    app.include_router(wellknown_router)
    app.include_router(catalog_router)
    app.include_router(protocol_router)
    app.include_router(management_router)
    app.include_router(policy_router)  # policy tools, alerts, duties: /management/...
    app.include_router(policy_protocol_router)  # usage notices between connectors
    app.include_router(processes_router)
    app.include_router(data_router)  # the data plane: /data/...
    app.include_router(data_management_router)  # its operator endpoints
    app.include_router(vocab_router())  # the shared vocabulary: /vocab/...
    app.include_router(audit_router)  # the audit log: /audit/...
    app.include_router(catalog_management_router)  # publishing, harvest, search
    app.include_router(dcat_router)  # the public DCAT catalogue: /catalog
    app.include_router(consent_router)  # consent records: /management/consents...
    app.include_router(consent_portal_router)  # resident portals: /consent-portal/...
    app.include_router(exchange_router)  # receipts between connectors: /dsp/.../tsunagu/...
    app.include_router(health_router)  # /healthz, /readyz, /metrics
    app.add_middleware(ObserveMiddleware, metrics=connector.metrics, participant=connector.did)
    console = install_console(app, connector)  # the operator's web pages: /console/...
    return app
