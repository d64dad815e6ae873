"""Steps that wait for the operator: starting a hold, ending it, and telling someone.

A hold names the message the operator's approval will send (`waiting_for`: AGREEMENT,
ACCEPTED, VERIFICATION, FINALIZED, START) or `peer_not_found` when the peer answered 404 to a
message of ours. Holding sends nothing: the process simply has no `pending` message, so the
protocol stays exact (a peer's message that only our held step could have caused is refused,
`Machine.apply`). Starting and ending a hold are events in the transaction that makes them
true (`HOLD`, `OPERATOR`), so the audit log shows who decided what, and when.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from connector.errors import ConnectorError
from connector.outbound import OutboundPolicy, fetch
from connector.store.hold_queries import drop_hold, put_hold
from connector.store.hold_tables import HoldRow
from connector.store.new_rows import new_row
from connector.store.store import Transaction
from connector.store.tables import EventRow

log = logging.getLogger("tsunagu.holds")

PEER_NOT_FOUND = "peer_not_found"
HOLD_MESSAGES = frozenset({"HOLD", "OPERATOR"})

WAITS_FOR = {
    "AGREEMENT": "the operator to agree (approve), counter-offer or terminate",
    "ACCEPTED": "the operator to accept the provider's offer, counter-request or terminate",
    "VERIFICATION": "the operator to verify the agreement or terminate",
    "FINALIZED": "the operator to finalize the agreement or terminate",
    "START": "the operator to start the transfer or terminate it",
    PEER_NOT_FOUND: "the operator: the peer does not know this process (it answered 404); "
    "send again (approve) or terminate",
}


@dataclass(frozen=True)
class HoldNotice:
    """What the operator (and the webhook) is told when a step starts to wait."""

    process: str
    process_id: str
    role: str
    state: str
    waiting_for: str
    since: datetime
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "id": self.process_id,
            "role": self.role,
            "state": self.state,
            "waiting_for": self.waiting_for,
            "description": WAITS_FOR.get(self.waiting_for, self.waiting_for),
            "since": self.since.isoformat(),
            "detail": self.detail,
        }


def waiting_json(hold: HoldRow | None) -> dict[str, Any] | None:
    """How the management API shows a hold: what it waits for, since when, and why."""
    if hold is None:
        return None
    return {
        "for": hold.waiting_for,
        "description": WAITS_FOR.get(hold.waiting_for, hold.waiting_for),
        "since": hold.since,
        "detail": hold.detail,
    }


def start_hold(
    tx: Transaction,
    row: Any,
    process: str,
    waiting_for: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> HoldNotice:
    """Park `row` until the operator acts; `detail` says why (shown to the operator)."""
    detail = dict(detail or {})
    state = "INITIAL" if row.state == "INITIAL" else row.state
    put_hold(
        tx,
        new_row(
            HoldRow,
            process_id=row.id,
            process=process,
            role=row.role,
            waiting_for=waiting_for,
            since=now,
            detail=detail,
        ),
        owner=row,
    )
    _event(tx, row, process, "HOLD", now, {"waiting_for": waiting_for, **detail})
    if hasattr(row, "awaiting_decision"):
        row.awaiting_decision = True
    return HoldNotice(process, row.id, row.role, state, waiting_for, now, detail)


def end_hold(
    tx: Transaction, row: Any, process: str, now: datetime, *, action: str | None
) -> HoldRow | None:
    """The hold of `row` is over: by the operator's `action` (an OPERATOR event), or because
    the process moved on without it (`action=None`: the peer terminated, the window opened)."""
    hold = drop_hold(tx, row.id)
    if hasattr(row, "awaiting_decision"):
        row.awaiting_decision = False
    if hold is not None and action is not None:
        _event(
            tx, row, process, "OPERATOR", now, {"action": action, "waited_for": hold.waiting_for}
        )
    return hold


def _event(
    tx: Transaction, row: Any, process: str, message: str, now: datetime, detail: dict[str, Any]
) -> None:
    state = None if row.state == "INITIAL" else row.state
    tx.add(
        new_row(
            EventRow,
            at=now,
            process=process,
            process_id=row.id,
            role=row.role,
            direction="local",
            message=message,
            from_state=state,
            to_state=row.state,
            peer_did=row.counterparty_did,
            detail=detail,
        )
    )


class HoldWebhook:
    """POSTs every new hold (`HoldNotice.to_json`) to the configured URL, through the outbound
    policy; best effort: a failure is logged, and the hold is listed all the same."""

    def __init__(self, url: str, http: httpx.AsyncClient, policy: OutboundPolicy) -> None:
        self.url = url
        self.http = http
        self.policy = policy
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def __call__(self, notice: HoldNotice) -> None:
        """Thread-safe: services call it after the commit that started the hold."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._spawn, notice)

    def _spawn(self, notice: HoldNotice) -> None:
        task = asyncio.create_task(self.post(notice))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def post(self, notice: HoldNotice) -> None:
        try:
            answer = await fetch(
                self.http,
                self.policy,
                "POST",
                self.url,
                json=notice.to_json(),
                what="the hold webhook",
            )
            if answer.status >= 300:
                log.warning("hold webhook %s answered %d", self.url, answer.status)
        except ConnectorError as exc:
            log.warning("hold webhook %s: %s [%s]", self.url, exc, exc.code)

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


HoldListener = Callable[[HoldNotice], None]
