"""What negotiations and transfers share: applying a transition to a stored process.

A process row has a DSP `state` and, optionally, a `pending` message we still owe the peer (the
local "-ING" state). Applying a message inside a transaction:

1. asks the sans-IO table for the next state (sender role, current state, message);
2. writes an event row in the same transaction (the audit seam);
3. for inbound messages, handles *implied acknowledgement*: if the peer's message is only legal
   after our pending message, the peer must already have received and acknowledged it (it could
   not have sent this otherwise) while our runner has not yet recorded the 2xx. We then apply our
   pending transition first. Without this, a fast peer's reply could overtake our own bookkeeping.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from connector.clock import Clock
from connector.control.hold_rules import HoldSettings
from connector.control.peers import Peer
from connector.errors import DuplicateMessage, InvalidTransition, NotFound
from connector.protocol.roles import Role
from connector.store.new_rows import new_row
from connector.store.store import Store, Transaction
from connector.store.tables import EventRow, NegotiationRow, TransferRow
from policies.decision import PolicyDecisionPoint

if TYPE_CHECKING:
    from connector.control.holds import HoldNotice

RowT = TypeVar("RowT", NegotiationRow, TransferRow)

INITIAL = "INITIAL"
"""State of a process we created but whose first message the peer has not acknowledged yet."""

_ROLES_REMEMBERED = 100_000  # pids whose role `role_of` keeps in memory


class ProcessLike(Protocol):
    id: str
    role: str
    state: str
    pending: str | None
    pending_detail: dict[str, Any] | None
    attempts: int
    next_attempt_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    last_error: str | None
    counterparty_did: str
    updated_at: datetime


NextState = Callable[[Role, Any, Any], Any]


@dataclass(frozen=True)
class Machine:
    """One DSP state machine as the control plane sees it."""

    process: str  # "negotiation" | "transfer"
    next_state: NextState  # the sans-IO table lookup
    state_type: type[Any]
    event_type: type[Any]

    def _state(self, row: ProcessLike) -> Any:
        return None if row.state == INITIAL else self.state_type(row.state)

    def check(self, row: ProcessLike, sender: Role, event: Any) -> str:
        return str(self.next_state(sender, self._state(row), self.event_type(event)))

    def allows(self, row: ProcessLike, sender: Role, event: Any) -> bool:
        try:
            self.check(row, sender, event)
        except InvalidTransition:
            return False
        return True

    def apply(
        self,
        tx: Transaction,
        row: ProcessLike,
        *,
        sender: Role,
        event: str,
        now: datetime,
        direction: str,
        detail: dict[str, Any] | None = None,
        on_implied: Callable[[str], None] | None = None,
    ) -> str:
        """Move `row` by `event` sent by `sender`; returns the new state.

        Raises InvalidTransition when the table does not allow it, and DuplicateMessage when
        the peer sent again the message that brought `row` to its current state."""
        own = Role(row.role)
        try:
            new_state = self.check(row, sender, event)
        except InvalidTransition:
            if direction == "inbound" and self._repeats_last(tx, row, event):
                raise DuplicateMessage(
                    f"{event} was received already; {row.id} is {row.state}"
                ) from None
            pending = row.pending
            if direction != "inbound" or pending is None or not _in_flight(row, now):
                raise
            implied_state = self.next_state(own, self._state(row), self.event_type(pending))
            new_state = str(self.next_state(sender, implied_state, self.event_type(event)))
            if on_implied is not None:
                on_implied(pending)
            self._move(tx, row, str(implied_state), pending, now, "outbound", {"implied": True})
            clear_pending(row)
        self._move(tx, row, new_state, event, now, direction, detail or {})
        return new_state

    @staticmethod
    def _repeats_last(tx: Transaction, row: ProcessLike, event: str) -> bool:
        last = tx.last_event(row.id)
        if last is not None and last.direction == "local" and last.message in _HOLD_EVENTS:
            # an operator hold came after the message that moved the process: look past it
            last = next(
                (
                    e
                    for e in reversed(tx.events(row.id))
                    if not (e.direction == "local" and e.message in _HOLD_EVENTS)
                ),
                None,
            )
        return (
            last is not None
            and last.direction == "inbound"
            and last.message == event
            and last.to_state == row.state
        )

    def _move(
        self,
        tx: Transaction,
        row: ProcessLike,
        new_state: str,
        message: str,
        now: datetime,
        direction: str,
        detail: dict[str, Any],
    ) -> None:
        tx.add(
            new_row(
                EventRow,
                at=now,
                process=self.process,
                process_id=row.id,
                role=row.role,
                direction=direction,
                message=message,
                from_state=None if row.state == INITIAL else row.state,
                to_state=new_state,
                peer_did=row.counterparty_did,
                detail=detail,
            )
        )
        row.state = new_state
        row.updated_at = now
        tx.add(row)


_HOLD_EVENTS = frozenset({"HOLD", "OPERATOR"})  # connector.control.holds: no state change


def _in_flight(row: ProcessLike, now: datetime) -> bool:
    """Whether our pending message may already be with the peer: it is due (the runner may
    be sending it) or was tried before. One scheduled for later (a transfer's time window)
    cannot have been, so nothing the peer sends implies it."""
    if row.pending is None:
        return False
    due = row.next_attempt_at
    return row.attempts > 0 or due is None or _aware(due) <= _aware(now)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def schedule(
    row: ProcessLike, message: str, now: datetime, detail: dict[str, Any] | None = None
) -> None:
    """Owe the peer `message`: the runner will pick the row up."""
    row.pending = message
    row.pending_detail = detail
    row.attempts = 0
    row.next_attempt_at = now
    row.last_error = None


def clear_pending(row: ProcessLike) -> None:
    row.pending = None
    row.pending_detail = None
    row.attempts = 0
    row.next_attempt_at = None
    row.lease_owner = None
    row.lease_until = None


def dsp_state(row: ProcessLike, first_state: str) -> str:
    """The state reported to peers and operators: a not-yet-acknowledged first message reads
    as the state it is about to create (as EDC reports REQUESTING as REQUESTED)."""
    return first_state if row.state == INITIAL else row.state


def new_pid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def check_peer(row: Any, peer: Peer | None) -> None:
    """Someone else's process looks exactly like a missing one (DSP: unauthorised -> 404)."""
    if peer is not None and row.counterparty_did != peer.did:
        raise NotFound(f"no {row.__tablename__} {row.id!r}", code=f"unknown_{row.__tablename__}")


def pids(row: Any) -> tuple[str, str]:
    """(consumerPid, providerPid) as the protocol names them; a peer pid not yet known is ''."""
    peer = row.peer_pid or ""
    return (row.id, peer) if row.role == Role.CONSUMER else (peer, row.id)


def termination_detail(code: str | None, *reasons: Any) -> dict[str, Any]:
    """The `code` / `reason` detail of a termination or suspension."""
    detail: dict[str, Any] = {"reason": [r for r in reasons if r]}
    if code:
        detail["code"] = code
    return detail


class Outbox(Protocol):
    """Where services hand what they owe peers (the runner, `connector.control.runner`)."""

    def lease(self, now: datetime) -> tuple[str, datetime] | None: ...
    def take(self, kind: type[Any], row: Any) -> None: ...
    def wake(self) -> None: ...


class ProcessService(Generic[RowT]):
    """What the negotiation and transfer services share: configuration, reads, and finding
    our own process from a peer's message (which doubles as authorisation)."""

    row_type: type[RowT]
    outbox: Outbox | None = None  # set by the composition root once the runner exists
    # Who takes each step (connector.control.hold_rules), and who hears of a new hold; set by
    # the composition root.
    holds: HoldSettings = HoldSettings()
    on_hold: Callable[[HoldNotice], None] | None = None

    def held(self, notice: HoldNotice | None) -> None:
        """After the commit that started a hold: tell whoever listens (the webhook)."""
        if notice is not None and self.on_hold is not None:
            self.on_hold(notice)

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        own_did: str,
        callback_address: str,
        pdp: PolicyDecisionPoint,
        notify: Callable[[ProcessLike], None] = lambda _row: None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.own_did = own_did
        self.callback_address = callback_address  # where providers reach us as consumer
        self.pdp = pdp
        self.notify = notify  # after every commit that changes a process
        self._roles: OrderedDict[str, Role] = OrderedDict()  # pid -> our role; never changes
        self._roles_lock = threading.Lock()  # services run in worker threads on PostgreSQL

    def schedule(
        self, row: RowT, message: str, now: datetime, detail: dict[str, Any] | None = None
    ) -> None:
        """Owe the peer `message`, leased to our own runner in the same transaction when it is
        running: it then gets the row straight after the commit (`committed`) instead of
        finding it with another transaction, and no other process sharing the database can
        send it meanwhile."""
        schedule(row, message, now, detail)
        lease = self.outbox.lease(now) if self.outbox is not None else None
        if lease is not None:
            row.lease_owner, row.lease_until = lease

    def committed(self, row: RowT) -> None:
        """After every commit that changed `row`: tell whoever waits, and send what we owe."""
        self._remember_role(row.id, Role(row.role))
        self.notify(row)
        if row.pending is None or self.outbox is None:
            return
        if row.lease_owner is not None:
            self.outbox.take(self.row_type, row)
        else:
            self.outbox.wake()

    def role_of(self, pid: str) -> Role:
        """Which of our roles the process `pid` is in (NotFound when we have none). A role
        never changes, so it is remembered: shared DSP paths need it before every message."""
        with self._roles_lock:
            role = self._roles.get(pid)
        if role is None:
            with self.store.transaction() as tx:
                role = Role(tx.process(self.row_type, pid, lock=False).role)
            self._remember_role(pid, role)
        return role

    def _remember_role(self, pid: str, role: Role) -> None:
        with self._roles_lock:
            self._roles[pid] = role
            self._roles.move_to_end(pid)
            if len(self._roles) > _ROLES_REMEMBERED:
                self._roles.popitem(last=False)

    def get(self, pid: str, *, role: Role | None = None, peer: Peer | None = None) -> RowT:
        with self.store.transaction() as tx:
            row = tx.process(self.row_type, pid, role=role, lock=False)
            check_peer(row, peer)
            return row

    def own_row(
        self, tx: Transaction, peer: Peer, *, role: Role, own_pid: str, peer_pid: str
    ) -> RowT:
        """Our process named by a peer's message: ours in `role`, with this peer, and the
        peer's pid matching (adopted if our first message's ACK is not recorded yet)."""
        row = tx.process(self.row_type, own_pid, role=role)
        check_peer(row, peer)
        if row.peer_pid is None:
            row.peer_pid = peer_pid
        elif row.peer_pid != peer_pid:
            kind = self.row_type.__tablename__
            raise NotFound(f"the other pid does not match this {kind}", code=f"unknown_{kind}")
        return row
