"""Transfer processes: inbound protocol messages, operator actions, and what to send next.

The control plane only agrees *that* data flows and *where*; the data plane moves it. For a
pull transfer the provider's start message carries a data address with a short-lived token,
minted when the message is sent (so a retried start never carries a stale token).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from connector.clock import Clock
from connector.control.acceptance import window_opens
from connector.control.hold_rules import Steps
from connector.control.holds import PEER_NOT_FOUND, HoldNotice, end_hold, start_hold
from connector.control.peers import Peer
from connector.control.process import (
    INITIAL,
    Machine,
    ProcessLike,
    ProcessService,
    clear_pending,
    dsp_state,
    new_pid,
    pids,
    schedule,
    termination_detail,
)
from connector.errors import Conflict, Forbidden, MessageError, NotFound
from connector.policy.starts import decide_transfer_start, keep_start_context
from connector.protocol.formats import FORMATS, PULL, PUSH
from connector.protocol.messages import (
    DataAddress,
    TransferCompletionMessage,
    TransferProcess,
    TransferRequestMessage,
    TransferStartMessage,
    TransferSuspensionMessage,
    TransferTerminationMessage,
)
from connector.protocol.roles import Role
from connector.protocol.transfer import TransferEvent, TransferState, next_transfer_state
from connector.store.hold_queries import hold_of, rules_of, transfers_of_agreement
from connector.store.store import Store, Transaction
from connector.store.tables import AgreementRow, NegotiationRow, TransferRow
from policies.decision import PolicyDecisionPoint
from policies.odrl import parse_policy

E = TransferEvent
TRANSFER = "transfer"
MACHINE = Machine("transfer", next_transfer_state, TransferState, TransferEvent)


class DataAddressIssuer(Protocol):
    """Mints the data address a consumer uses to pull (implemented by the data plane)."""

    def pull_address(self, transfer: TransferRow) -> dict[str, Any]: ...


class TransferService(ProcessService[TransferRow]):
    row_type = TransferRow

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        own_did: str,
        callback_address: str,
        pdp: PolicyDecisionPoint,
        addresses: DataAddressIssuer,
        sinks: Callable[[str], dict[str, Any]] | None = None,
        notify: Callable[[ProcessLike], None] = lambda _row: None,
    ) -> None:
        super().__init__(
            store, clock, own_did=own_did, callback_address=callback_address, pdp=pdp, notify=notify
        )
        self.addresses = addresses
        self.sinks = sinks  # data plane hook: a sink of ours for a push request without one

    def ack(self, row: TransferRow) -> TransferProcess:
        consumer_pid, provider_pid = pids(row)
        return TransferProcess(
            consumer_pid=consumer_pid,
            provider_pid=provider_pid,
            state=TransferState(dsp_state(row, TransferState.REQUESTED)),
        )

    # -- provider side, inbound -----------------------------------------------------------

    def on_request(self, peer: Peer, msg: TransferRequestMessage) -> tuple[TransferRow, bool]:
        now = self.clock()
        with self.store.transaction() as tx:
            existing = tx.process_by_peer(
                TransferRow,
                role=Role.PROVIDER,
                counterparty_did=peer.did,
                peer_pid=msg.consumer_pid,
            )
            if existing is not None:
                return existing, False  # idempotent per consumerPid (DSP 2025-1, §8)
            agreement = self._usable_agreement(tx, peer, msg.agreement_id)
            if msg.format not in FORMATS:
                raise MessageError(
                    f"format {msg.format!r} is not supported; use one of {', '.join(FORMATS)}",
                    code="unsupported_format",
                )
            if msg.format == PUSH and msg.data_address is None:
                raise MessageError(
                    "a push transfer needs the consumer's dataAddress", code="missing_data_address"
                )
            steps = self._steps(tx, agreement)
            opens = self._window(steps, agreement, now)
            requester = {"did": peer.did, **peer.claims}
            # one that starts when its window opens is judged for that moment
            decision = decide_transfer_start(self.pdp, tx, agreement, requester, opens or now)
            if not decision.allowed:
                raise Forbidden(
                    "; ".join(decision.reasons) or "the agreement does not permit this",
                    code="policy_denied",
                )
            row = TransferRow(
                id=new_pid(),
                role=Role.PROVIDER,
                state=INITIAL,
                peer_pid=msg.consumer_pid,
                counterparty_did=peer.did,
                counterparty_address=msg.callback_address,
                agreement_id=agreement.id,
                format=msg.format,
                data_address=msg.data_address.to_json() if msg.data_address else None,
                created_at=now,
                updated_at=now,
            )
            keep_start_context(tx, row.id, agreement, requester, now)
            MACHINE.apply(
                tx,
                row,
                sender=Role.CONSUMER,
                event=E.REQUEST,
                now=now,
                direction="inbound",
                detail={"format": msg.format, "agreementId": agreement.id},
            )
            notice = self._start_or_hold(tx, row, agreement, now, steps, opens)
        self.committed(row)
        self.held(notice)
        return row, True

    def steps_of(self, pid: str) -> Steps:
        """The steps a transfer runs under (its agreement's negotiation, over ours)."""
        with self.store.transaction() as tx:
            row = tx.process(TransferRow, pid, lock=False)
            agreement = tx.session.get(AgreementRow, row.agreement_id)
            if agreement is None:
                return self.holds.steps
            return self._steps(tx, agreement)

    def _steps(self, tx: Transaction, agreement: AgreementRow) -> Steps:
        """The steps of the agreement's negotiation (from its offer), over the participant's."""
        return self.holds.steps.over(rules_of(tx, agreement.negotiation_id).get("steps", {}))

    @staticmethod
    def _window(steps: Steps, agreement: AgreementRow, now: datetime) -> datetime | None:
        """When a transfer under `agreement` is to start, if it waits for the agreement's
        time window and that has not opened yet."""
        if steps.transfer_start != "window":
            return None
        opens = window_opens(parse_policy(agreement.policy))
        return opens if opens is not None and opens > now else None

    def _start_or_hold(
        self,
        tx: Transaction,
        row: TransferRow,
        agreement: AgreementRow,
        now: datetime,
        steps: Steps,
        opens: datetime | None,
    ) -> HoldNotice | None:
        """Start a requested transfer at once, hold it for the operator, or start it when the
        agreement's time window opens, by the negotiation's steps (offer, then participant)."""
        if opens is not None:
            # Due when the window opens, and nobody's lease: the runner finds it then.
            schedule(row, E.START, opens, {"window_opens": opens.isoformat()})
            return start_hold(tx, row, TRANSFER, E.START, now, {"window_opens": opens.isoformat()})
        if steps.transfer_start == "hold":
            return start_hold(tx, row, TRANSFER, E.START, now, {"agreement_id": agreement.id})
        self.schedule(row, E.START, now)  # start as soon as the start message is delivered
        return None

    def _usable_agreement(self, tx: Transaction, peer: Peer, agreement_id: str) -> AgreementRow:
        try:
            agreement = tx.agreement(agreement_id)
        except NotFound:
            raise MessageError(f"no agreement {agreement_id!r}", code="unknown_agreement") from None
        if agreement.provider_did != self.own_did or agreement.consumer_did != peer.did:
            raise MessageError(f"no agreement {agreement_id!r}", code="unknown_agreement")
        negotiation = tx.process(NegotiationRow, agreement.negotiation_id)
        # Our FINALIZED may still be on its way back as an ACK the runner has not recorded:
        # a consumer that asks for a transfer has it (the same implied acknowledgement as in
        # `Machine.apply`), and nothing can stop a negotiation we owe FINALIZED any more.
        finalizing = negotiation.state == "VERIFIED" and negotiation.pending == "FINALIZED"
        if negotiation.state != "FINALIZED" and not finalizing:
            raise MessageError(
                "the negotiation of this agreement is not finalized", code="agreement_not_final"
            )
        return agreement

    # -- inbound on either side -----------------------------------------------------------

    def on_message(self, peer: Peer, msg: Any, *, role: Role) -> TransferRow:
        """Start, suspension, completion or termination from the other side."""
        event = _event_of(msg)
        now = self.clock()
        with self.store.transaction() as tx:
            own_pid, peer_pid = (
                (msg.provider_pid, msg.consumer_pid)
                if role is Role.PROVIDER
                else (msg.consumer_pid, msg.provider_pid)
            )
            row = self.own_row(tx, peer, role=role, own_pid=own_pid, peer_pid=peer_pid)
            sender = Role.CONSUMER if role is Role.PROVIDER else Role.PROVIDER
            detail: dict[str, Any] = {}
            if isinstance(msg, TransferSuspensionMessage | TransferTerminationMessage):
                detail = termination_detail(msg.code, *(msg.reason or []))
            MACHINE.apply(
                tx, row, sender=sender, event=event, now=now, direction="inbound", detail=detail
            )
            if event is E.START and role is Role.CONSUMER:
                if row.format == PULL and msg.data_address is None:
                    raise MessageError(
                        "a pull transfer's start message needs a dataAddress",
                        code="missing_data_address",
                    )
                if msg.data_address is not None:
                    row.data_address = msg.data_address.to_json()
            if row.pending is not None and not MACHINE.allows(row, Role(row.role), row.pending):
                clear_pending(row)  # what we meant to send no longer applies
            if event is E.TERMINATION:
                end_hold(tx, row, TRANSFER, now, action=None)
            tx.add(row)
        self.committed(row)
        return row

    # -- operator actions -----------------------------------------------------------------

    def request(
        self, *, agreement_id: str, format: str, data_address: dict[str, Any] | None = None
    ) -> TransferRow:
        """Consumer: ask the provider of an agreement to start a transfer."""
        if format not in FORMATS:
            raise MessageError(
                f"format must be one of {', '.join(FORMATS)}", code="unsupported_format"
            )
        pid = new_pid()
        if format == PUSH and data_address is None and self.sinks is not None:
            data_address = self.sinks(pid)  # data plane hook: where the provider pushes to
        now = self.clock()
        with self.store.transaction() as tx:
            agreement = tx.agreement(agreement_id)
            if agreement.consumer_did != self.own_did:
                raise MessageError("we are not the consumer of this agreement", code="not_consumer")
            negotiation = tx.process(NegotiationRow, agreement.negotiation_id)
            row = TransferRow(
                id=pid,
                role=Role.CONSUMER,
                state=INITIAL,
                counterparty_did=agreement.provider_did,
                counterparty_address=negotiation.counterparty_address,
                agreement_id=agreement_id,
                format=format,
                data_address=data_address,
                created_at=now,
                updated_at=now,
            )
            self.schedule(row, E.REQUEST, now)
            tx.add(row)
        self.committed(row)
        return row

    def approve(self, pid: str) -> TransferRow:
        """Provider: start a transfer that waits for the operator (or for its window) now; or,
        on either side, send again a message the peer answered with 404."""
        now = self.clock()
        with self.store.transaction() as tx:
            row = tx.process(TransferRow, pid)
            hold = hold_of(tx, pid)
            if hold is None:
                raise Conflict("this transfer is not waiting for a decision", code="not_waiting")
            message, detail = E.START, None
            if hold.waiting_for == PEER_NOT_FOUND:
                message, detail = hold.detail["message"], hold.detail.get("pending_detail")
            MACHINE.check(row, Role(row.role), message)
            end_hold(tx, row, TRANSFER, now, action="approve")
            self.schedule(row, message, now, detail)
            tx.add(row)
        self.committed(row)
        return row

    def terminate_for_agreement(self, agreement_id: str, reason: str) -> list[TransferRow]:
        """Every transfer under a revoked agreement ends: each one still running is terminated
        (a termination message to the peer, or locally when the peer never heard of it)."""
        with self.store.transaction() as tx:
            pids = [
                t.id for t in transfers_of_agreement(tx, agreement_id) if not _terminal(t.state)
            ]
        return [
            self.act(pid, E.TERMINATION, code="agreement_revoked", reason=reason) for pid in pids
        ]

    def act(
        self, pid: str, event: TransferEvent, *, code: str | None = None, reason: str | None = None
    ) -> TransferRow:
        """Either side: suspend, resume (START), complete or terminate a transfer."""
        now = self.clock()
        with self.store.transaction() as tx:
            row = tx.process(TransferRow, pid)
            hold = end_hold(tx, row, TRANSFER, now, action=event.lower())
            if row.state != INITIAL and hold is not None and hold.waiting_for == PEER_NOT_FOUND:
                if event is not E.TERMINATION:
                    raise Conflict(
                        "the peer does not know this transfer: send again or terminate",
                        code="peer_not_found",
                    )
                MACHINE.check(row, Role(row.role), event)
                MACHINE._move(
                    tx,
                    row,
                    TransferState.TERMINATED,
                    event,
                    now,
                    "local",
                    termination_detail(code, reason),
                )
                clear_pending(row)
            elif row.state == INITIAL and event is E.TERMINATION:
                MACHINE._move(
                    tx,
                    row,
                    TransferState.TERMINATED,
                    event,
                    now,
                    "local",
                    termination_detail(code, reason),
                )
                clear_pending(row)
            else:
                MACHINE.check(row, Role(row.role), event)
                self.schedule(
                    row, event, now, termination_detail(code, reason) if code or reason else None
                )
            tx.add(row)
        self.committed(row)
        return row

    # -- outbound (called by the runner) --------------------------------------------------

    def outbound(self, row: TransferRow) -> tuple[str, dict[str, Any]]:
        pending = E(str(row.pending))
        base = row.counterparty_address.rstrip("/")
        consumer_pid, provider_pid = pids(row)
        path = f"{base}/transfers/{row.peer_pid}"
        detail = row.pending_detail or {}
        msg: Any
        if pending is E.REQUEST:
            msg = TransferRequestMessage(
                consumer_pid=consumer_pid,
                agreement_id=row.agreement_id,
                format=row.format,
                callback_address=self.callback_address,
                data_address=DataAddress.from_json(row.data_address) if row.data_address else None,
            )
            return f"{base}/transfers/request", msg.to_json()
        if pending is E.START:
            address = None
            if row.role == Role.PROVIDER and row.format == PULL:
                address = DataAddress.from_json(self.addresses.pull_address(row))
            msg = TransferStartMessage(
                provider_pid=provider_pid, consumer_pid=consumer_pid, data_address=address
            )
            return f"{path}/start", msg.to_json()
        if pending is E.COMPLETION:
            msg = TransferCompletionMessage(provider_pid=provider_pid, consumer_pid=consumer_pid)
            return f"{path}/completion", msg.to_json()
        kind = TransferSuspensionMessage if pending is E.SUSPENSION else TransferTerminationMessage
        msg = kind(
            provider_pid=provider_pid,
            consumer_pid=consumer_pid,
            code=detail.get("code"),
            reason=detail.get("reason") or None,
        )
        suffix = "suspension" if pending is E.SUSPENSION else "termination"
        return f"{path}/{suffix}", msg.to_json()

    def on_sent(self, pid: str, pending: str, response: dict[str, Any] | None) -> None:
        now = self.clock()
        with self.store.transaction() as tx:
            row = tx.process(TransferRow, pid)
            if row.pending != pending:
                return
            if row.peer_pid is None and response is not None:
                peer_pid = response.get("providerPid")
                if not isinstance(peer_pid, str) or not peer_pid:
                    raise MessageError("the peer's ACK carries no process id", code="invalid_ack")
                row.peer_pid = peer_pid
            MACHINE.apply(
                tx,
                row,
                sender=Role(row.role),
                event=pending,
                now=now,
                direction="outbound",
                detail=row.pending_detail or {},
            )
            if "window_opens" in (row.pending_detail or {}):
                end_hold(tx, row, TRANSFER, now, action=None)  # the window opened
            clear_pending(row)
            tx.add(row)
        self.committed(row)


def _terminal(state: str) -> bool:
    return state in (TransferState.COMPLETED, TransferState.TERMINATED)


def _event_of(msg: Any) -> TransferEvent:
    if isinstance(msg, TransferStartMessage):
        return E.START
    if isinstance(msg, TransferCompletionMessage):
        return E.COMPLETION
    if isinstance(msg, TransferSuspensionMessage):
        return E.SUSPENSION
    if isinstance(msg, TransferTerminationMessage):
        return E.TERMINATION
    raise MessageError(f"{type(msg).__name__} is not a transfer state message", code="wrong_type")
