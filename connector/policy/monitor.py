"""The policy monitor: ends running transfers whose agreement stopped holding.

Every data-plane access is decided anyway; the monitor is for what runs between accesses:
a started pull transfer whose agreement expired or whose `count` is used up is terminated,
one that holds only while a flood alert is in force is suspended when the alert is over, and
open live streams and running pushes of either are cut at once. The DSP termination or
suspension carries the reason.

A transfer the monitor suspended is resumed by it when its agreement holds again (the next
alert): the provider's DSP TransferStartMessage goes out with a fresh data address, as for an
operator's resume. The offer's owner may leave that to the operator instead (offer step
`resume = "hold"`, docs/holds.md). A suspension by the consumer or by an operator is theirs to
lift: the monitor never resumes it.

It runs in the owner's connector, woken on a schedule (`interval_seconds`) and by events:
alert changes (`AlertService.subscribe`) and the operator. `run_once()` returns how many
transfers it ended or resumed, so tests step it with the clock fixture.

A round reads the snapshots of the transfers it looks at a page at a time (one statement a
page, `DataPlaneQueries.snapshots`), not one per transfer: thousands of open live streams
cost a few reads every 30 s, and the decisions are made in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import anyio

from connector.clock import Clock
from connector.dataplane.access import AccessVerdict
from connector.errors import ConnectorError
from connector.policy.duties import sweep
from connector.protocol.roles import Role
from connector.protocol.transfer import TransferEvent
from connector.store.dataplane_queries import SNAPSHOT_PAGE, TransferSnapshot
from connector.store.policy_queries import suspensions_of
from connector.store.store import Store

if TYPE_CHECKING:  # the composition root hands them in; importing them would make a circle
    from connector.control.transfers import TransferService
    from connector.dataplane.plane import DataPlane
    from connector.policy.access import DecisionAccessPolicy
    from connector.policy.digests import UsageDigests

log = logging.getLogger("tsunagu.policy")

# Denials that may lift again by themselves: suspend, do not terminate.
PASSING = frozenset({"alert_not_in_force", "agreement_not_yet_valid"})
# Denials about the pace of use, not about the agreement holding: leave the transfer alone.
IGNORED = frozenset({"too_soon"})


class PolicyMonitor:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        transfers: TransferService,
        access: DecisionAccessPolicy,
        dataplane: DataPlane,
        interval_seconds: float = 30.0,
        page: int = SNAPSHOT_PAGE,
    ) -> None:
        self.store = store
        self.clock = clock
        self.transfers = transfers
        self.access = access
        self.dataplane = dataplane
        self.interval_seconds = interval_seconds
        self.page = page  # transfers read at once: a round's reads grow by one per page
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.digests: UsageDigests | None = None  # consumer: `inform` digests now due

    def wake(self, *_: object) -> None:
        """Thread-safe: look again now (an alert changed, an operator asked)."""
        loop, event = self._loop, self._wake
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    async def run_forever(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_seconds)
            self._wake.clear()
            try:
                await self.run_once()
                await self.store.call(sweep, self.store, self.clock())  # duties now due
                if self.digests is not None:
                    await self.digests.send_due()
            except ConnectorError as exc:  # a store hiccup: the next round retries
                log.warning("policy monitor: %s", exc)

    async def run_once(self) -> int:
        """One round over our started and suspended provider transfers; returns how many it
        ended or resumed."""
        return await self._end() + await self._resume()

    async def _pages(self, state: str) -> AsyncIterator[list[TransferSnapshot]]:
        """Our provider transfers in `state` that owe the peer nothing, one read a page. A
        snapshot may be a moment old when it is acted on: `transfers.act` checks the state
        again under the row's lock."""
        after = ""
        while True:
            page = await anyio.to_thread.run_sync(self._page, state, after)
            if page:
                yield page
            if len(page) < self.page:
                return
            after = page[-1].transfer_id

    def _page(self, state: str, after: str) -> list[TransferSnapshot]:
        page = self.dataplane.queries.snapshots(
            Role.PROVIDER, (state,), after=after, page=self.page
        )
        self.access.know(page)  # the requesters the checks need, read for the page at once
        return page

    async def _end(self) -> int:
        ended = 0
        async for page in self._pages("STARTED"):
            for snapshot in page:
                verdict = self.access.check(snapshot, self.clock())
                if verdict.allowed or verdict.code in IGNORED:
                    continue
                ended += await self._stop(snapshot.transfer_id, verdict)
        return ended

    async def _stop(self, transfer_id: str, verdict: AccessVerdict) -> int:
        """Suspend or terminate a transfer its agreement no longer lets run; 1 if it was."""
        event = TransferEvent.SUSPENSION if verdict.code in PASSING else TransferEvent.TERMINATION
        reason = f"the agreement no longer holds: {verdict.reason}"
        try:
            await self.store.call(
                self.transfers.act, transfer_id, event, code=verdict.code, reason=reason
            )
        except ConnectorError as exc:  # ended meanwhile, by a peer or an operator
            log.info("policy monitor: %s: %s", transfer_id, exc)
            return 0
        self.dataplane.streams.cut(transfer_id, reason)
        log.info("policy monitor: %s %s (%s)", event.value, transfer_id, verdict.code)
        return 1

    async def _resume(self) -> int:
        resumed = 0
        async for page in self._pages("SUSPENDED"):
            # Whether the agreement holds again is decided in memory; only the transfers
            # where it does need their suspension read (one read for the page's).
            holding = [s.transfer_id for s in page if self.access.check(s, self.clock()).allowed]
            if not holding:
                continue
            suspensions = await self.store.call(suspensions_of, self.store, holding)
            for transfer_id in holding:
                why = suspensions.get(transfer_id)
                if why is None or why["direction"] == "inbound" or why.get("code") not in PASSING:
                    continue  # the consumer's or an operator's suspension: theirs to lift
                # Per transfer, but only for one about to be resumed (a write follows anyway).
                if (await self.store.call(self.transfers.steps_of, transfer_id)).resume != "auto":
                    continue  # the owner resumes it by hand
                resumed += await self._restart(transfer_id)
        return resumed

    async def _restart(self, transfer_id: str) -> int:
        try:
            await self.store.call(
                self.transfers.act,
                transfer_id,
                TransferEvent.START,
                code="agreement_holds_again",
                reason="the agreement holds again",
            )
        except ConnectorError as exc:  # moved meanwhile, by a peer or an operator
            log.info("policy monitor: %s: %s", transfer_id, exc)
            return 0
        log.info("policy monitor: resumed %s", transfer_id)
        return 1
