"""A negotiation's record: creating and finding our rows, the ACK a peer gets, the messages
we send, and what each of them changes once the peer has it.

`NegotiationService` (`negotiations.py`) builds on this with what peers and operators do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from connector.clock import Clock
from connector.control.contract_decisions import agreement_for
from connector.control.hold_rules import AcceptRule, Steps, accept_rules_of
from connector.control.negotiation_wire import negotiation_message
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
)
from connector.errors import MessageError
from connector.protocol.messages import ContractNegotiation
from connector.protocol.negotiation import (
    NegotiationEvent,
    NegotiationState,
    next_negotiation_state,
)
from connector.protocol.roles import Role
from connector.store.hold_queries import rules_of
from connector.store.new_rows import new_row
from connector.store.store import Store, Transaction
from connector.store.tables import AgreementRow, NegotiationRow
from policies.decision import PolicyDecisionPoint
from policies.odrl import Policy, parse_policy

E = NegotiationEvent
MACHINE = Machine("negotiation", next_negotiation_state, NegotiationState, NegotiationEvent)


class NegotiationRecords(ProcessService[NegotiationRow]):
    row_type = NegotiationRow

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        own_did: str,
        callback_address: str,
        provider_address: str,
        pdp: PolicyDecisionPoint,
        notify: Callable[[ProcessLike], None] = lambda _row: None,
    ) -> None:
        super().__init__(
            store, clock, own_did=own_did, callback_address=callback_address, pdp=pdp, notify=notify
        )
        self.provider_address = provider_address  # where consumers reach us as provider

    def _new_row(
        self,
        *,
        role: Role,
        counterparty_did: str,
        counterparty_address: str,
        dataset_id: str,
        offer: Policy,
        offer_by: Role,
        peer_pid: str | None = None,
    ) -> NegotiationRow:
        now = self.clock()
        return new_row(
            NegotiationRow,
            id=new_pid(),
            role=role,
            state=INITIAL,
            peer_pid=peer_pid,
            counterparty_did=counterparty_did,
            counterparty_address=counterparty_address.rstrip("/"),
            dataset_id=dataset_id,
            offer=offer.to_json(),
            offer_by=offer_by,
            created_at=now,
            updated_at=now,
        )

    def ack(self, row: NegotiationRow) -> ContractNegotiation:
        consumer_pid, provider_pid = pids(row)
        return ContractNegotiation(
            consumer_pid=consumer_pid,
            provider_pid=provider_pid,
            state=NegotiationState(dsp_state(row, _first_state(row))),
        )

    def _agreement_detail(self, row: NegotiationRow, offer: Policy) -> dict[str, Any]:
        agreement = agreement_for(
            offer,
            dataset_id=row.dataset_id,
            provider=self.own_did,
            consumer=row.counterparty_did,
            now=self.clock(),
        )
        return {"agreement": agreement.to_json()}

    # -- outbound (called by the runner) --------------------------------------------------

    def outbound(self, row: NegotiationRow) -> tuple[str, dict[str, Any]]:
        """The URL and body of the message `row.pending` asks us to send."""
        return negotiation_message(
            row, callback_address=self.callback_address, provider_address=self.provider_address
        )

    def on_sent(self, pid: str, pending: str, response: dict[str, Any] | None) -> None:
        """The peer acknowledged `pending` with a 2xx: apply our own transition."""
        now = self.clock()
        with self.store.transaction() as tx:
            row = tx.process(NegotiationRow, pid)
            if row.pending != pending:
                return  # overtaken: an inbound message settled it already
            if row.peer_pid is None and response is not None:
                peer_pid = response.get(
                    "providerPid" if row.role == Role.CONSUMER else "consumerPid"
                )
                if not isinstance(peer_pid, str) or not peer_pid:
                    raise MessageError("the peer's ACK carries no process id", code="invalid_ack")
                row.peer_pid = peer_pid
            self._apply_sent(tx, row, pending, now)
            clear_pending(row)
            tx.add(row)
        self.committed(row)

    def _apply_sent(self, tx: Transaction, row: NegotiationRow, pending: str, now: Any) -> None:
        detail = row.pending_detail or {}
        MACHINE.apply(
            tx,
            row,
            sender=Role(row.role),
            event=pending,
            now=now,
            direction="outbound",
            detail=detail,
        )
        self._implied(tx, row)(pending)

    def _implied(self, tx: Transaction, row: NegotiationRow) -> Callable[[str], None]:
        """What a message of ours changes once the peer has it (acknowledged, or implied by
        the peer's reply): an agreement we sent now binds; a counter-offer is now the offer."""

        def apply(pending: str) -> None:
            detail = row.pending_detail or {}
            if pending == E.AGREEMENT:
                agreement = parse_policy(detail["agreement"])
                self._store_agreement(
                    tx, row, agreement, provider=self.own_did, consumer=row.counterparty_did
                )
            elif pending == E.CONTRACT_OFFER and "offer" in detail:
                row.offer = detail["offer"]
                row.offer_by = Role.PROVIDER
            elif pending == E.CONTRACT_REQUEST:
                if "offer" in detail:  # the consumer's counter-request
                    row.offer = detail["offer"]
                row.offer_by = Role.CONSUMER

        return apply

    def _store_agreement(
        self,
        tx: Transaction,
        row: NegotiationRow,
        agreement: Policy,
        *,
        provider: str,
        consumer: str,
    ) -> None:
        assert agreement.uid is not None
        tx.add(
            AgreementRow(
                id=agreement.uid,
                negotiation_id=row.id,
                dataset_id=row.dataset_id,
                provider_did=provider,
                consumer_did=consumer,
                policy=agreement.to_json(),
                signed_at=agreement.timestamp or self.clock(),
            )
        )
        row.agreement_id = agreement.uid

    # -- applying the peer's messages ------------------------------------------------------

    def _receive(
        self,
        tx: Transaction,
        row: NegotiationRow,
        sender: Role,
        event: str,
        now: datetime,
        detail: dict[str, Any] | None = None,
        *,
        implied: bool = True,
    ) -> None:
        """Move `row` by the peer's message; with `implied`, a message of ours it answers counts
        as delivered (implied acknowledgement: the reply proves the peer has it)."""
        MACHINE.apply(
            tx,
            row,
            sender=sender,
            event=event,
            now=now,
            direction="inbound",
            detail=detail,
            on_implied=self._implied(tx, row) if implied else None,
        )

    def _take_offer(
        self,
        tx: Transaction,
        row: NegotiationRow,
        offer: Policy,
        sender: Role,
        event: str,
        now: datetime,
        *,
        implied: bool = True,
    ) -> tuple[dict[str, Any], str]:
        """The peer's (counter-)offer or request becomes the negotiation's current offer;
        returns the offer it replaces and who made that one."""
        self._receive(tx, row, sender, event, now, {"offer": offer.to_json()}, implied=implied)
        previous = (row.offer, row.offer_by)
        row.offer = offer.to_json()
        row.offer_by = sender
        return previous

    @staticmethod
    def _keeps_dataset(row: NegotiationRow, offer: Policy) -> None:
        if target_of(offer) != row.dataset_id:
            raise MessageError("a counter-offer must keep the dataset", code="wrong_target")

    # -- who takes the next step (connector.control.hold_rules) ----------------------------

    def _steps(self, tx: Transaction, row: NegotiationRow) -> Steps:
        """The participant's steps, with what this process was started under on top."""
        return self.holds.steps.over(rules_of(tx, row.id).get("steps", {}))

    def _accept_rules(self, tx: Transaction, row: NegotiationRow) -> tuple[AcceptRule, ...]:
        """Consumer: the participant's acceptance rules and those given with the request."""
        given = rules_of(tx, row.id).get("accept", [])
        return self.holds.accept + accept_rules_of(given, where="accept")

    def _opened_before(
        self, tx: Transaction, peer: Peer, role: Role, peer_pid: str
    ) -> NegotiationRow | None:
        """The process a first message opened already: the peer sent it again (its ACK was
        lost), and gets the same process back."""
        return tx.process_by_peer(
            NegotiationRow, role=role, counterparty_did=peer.did, peer_pid=peer_pid
        )

    def _provider_row(
        self, tx: Transaction, peer: Peer, provider_pid: str, consumer_pid: str
    ) -> NegotiationRow:
        return self.own_row(
            tx, peer, role=Role.PROVIDER, own_pid=provider_pid, peer_pid=consumer_pid
        )

    def _consumer_row(
        self, tx: Transaction, peer: Peer, consumer_pid: str, provider_pid: str
    ) -> NegotiationRow:
        return self.own_row(
            tx, peer, role=Role.CONSUMER, own_pid=consumer_pid, peer_pid=provider_pid
        )


def _first_state(row: NegotiationRow) -> str:
    return NegotiationState.REQUESTED if row.offer_by == Role.CONSUMER else NegotiationState.OFFERED


def target_of(offer: Policy) -> str:
    """The dataset an offer is for (an offer that names none is malformed)."""
    if not offer.target:
        raise MessageError("the offer names no target dataset", code="missing_target")
    return offer.target


def requester_of(peer: Peer) -> dict[str, Any]:
    """What the policy decision point knows of the peer asking: its DID and verified claims."""
    return {"did": peer.did, **peer.claims}
