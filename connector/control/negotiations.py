"""Contract negotiation: inbound protocol messages on either side and operator decisions.

Inbound handlers only validate, transition and persist (one transaction) and then return the
ACK; they never call the peer. Anything we owe the peer is recorded as `pending` on the row and
sent by the runner (`connector.control.runner`); the record keeping around that (rows, ACKs,
outbound messages, what a delivered message changes) is `negotiation_records.py`.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from connector.control.contract_decisions import agreement_problem, decide_on_request
from connector.control.negotiation_records import (
    MACHINE,
    E,
    NegotiationRecords,
    requester_of,
    target_of,
)
from connector.control.peers import Peer
from connector.control.process import INITIAL, clear_pending, new_pid, termination_detail
from connector.errors import Conflict, InvalidTransition, MessageError, NotFound
from connector.protocol.messages import (
    ContractAgreementMessage,
    ContractAgreementVerificationMessage,
    ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage,
    ContractOfferMessage,
    ContractRequestMessage,
)
from connector.protocol.negotiation import NegotiationState
from connector.protocol.roles import Role
from connector.store.store import Transaction
from connector.store.tables import NegotiationRow
from policies.odrl import Policy, parse_policy


class NegotiationService(NegotiationRecords):
    """Inbound messages on either side and the operator's decisions."""

    # -- provider side, inbound -----------------------------------------------------------

    def on_request(self, peer: Peer, msg: ContractRequestMessage) -> tuple[NegotiationRow, bool]:
        """A consumer's (initial or counter-) request. Returns (row, created)."""
        now = self.clock()
        offer = msg.offer
        with self.store.transaction() as tx:
            if msg.provider_pid is None:
                existing = self._opened_before(tx, peer, Role.PROVIDER, msg.consumer_pid)
                if existing is not None:
                    return existing, False
                dataset_id = target_of(offer)
                offers = tx.offers([dataset_id])
                if not offers:
                    raise MessageError(
                        f"no dataset {dataset_id!r} on offer", code="unknown_dataset"
                    )
                if offer.uid not in {o.id for o in offers}:
                    raise MessageError(
                        f"offer {offer.uid!r} is not one of ours for {dataset_id!r}",
                        code="unknown_offer",
                    )
                assert msg.callback_address is not None  # the message parser enforces one-of
                row = self._new_row(
                    role=Role.PROVIDER,
                    peer_pid=msg.consumer_pid,
                    counterparty_did=peer.did,
                    counterparty_address=msg.callback_address,
                    dataset_id=dataset_id,
                    offer=offer,
                    offer_by=Role.CONSUMER,
                )
                created = True
            else:
                row = self._provider_row(tx, peer, msg.provider_pid, msg.consumer_pid)
                self._keeps_dataset(row, offer)
                created = False
            self._take_offer(tx, row, offer, Role.CONSUMER, E.CONTRACT_REQUEST, now, implied=False)
            if not created:
                offers = tx.offers([row.dataset_id])
            self._decide_on_offer(tx, row, offer, offers_of=offers, peer=peer)
            tx.add(row)
        self.committed(row)
        return row, created

    def _decide_on_offer(
        self, tx: Transaction, row: NegotiationRow, offer: Policy, *, offers_of: Any, peer: Peer
    ) -> None:
        decision = decide_on_request(
            list(offers_of), offer, pdp=self.pdp, requester=requester_of(peer), now=self.clock()
        )
        if decision.action == "park":
            row.awaiting_decision = True
        elif decision.action == "agree":
            self.schedule(row, E.AGREEMENT, self.clock(), self._agreement_detail(row, offer))
        else:
            self.schedule(
                row,
                E.TERMINATION,
                self.clock(),
                termination_detail(decision.code, *decision.reasons),
            )

    def on_event(
        self, peer: Peer, msg: ContractNegotiationEventMessage, *, role: Role
    ) -> NegotiationRow:
        now = self.clock()
        with self.store.transaction() as tx:
            if role is Role.PROVIDER:
                row = self._provider_row(tx, peer, msg.provider_pid, msg.consumer_pid)
                if msg.event_type != "ACCEPTED":
                    raise InvalidTransition("a consumer may only send ACCEPTED events")
                # Our counter-offer may not be recorded as delivered yet: its acceptance says
                # it was (implied acknowledgement), and makes it the current offer first.
                offer_on_its_way = row.pending == E.CONTRACT_OFFER
                if row.offer_by == Role.CONSUMER and row.state != INITIAL and not offer_on_its_way:
                    raise InvalidTransition(
                        "the current offer came from the consumer; "
                        "only a provider offer can be accepted"
                    )
                self._receive(tx, row, Role.CONSUMER, E.ACCEPTED, now)
                offer = parse_policy(row.offer)
                self.schedule(row, E.AGREEMENT, now, self._agreement_detail(row, offer))
            else:
                row = self._consumer_row(tx, peer, msg.consumer_pid, msg.provider_pid)
                if msg.event_type != "FINALIZED":
                    raise InvalidTransition("a provider may only send FINALIZED events")
                self._receive(tx, row, Role.PROVIDER, E.FINALIZED, now)
            tx.add(row)
        self.committed(row)
        return row

    def on_verification(
        self, peer: Peer, msg: ContractAgreementVerificationMessage
    ) -> NegotiationRow:
        now = self.clock()
        with self.store.transaction() as tx:
            row = self._provider_row(tx, peer, msg.provider_pid, msg.consumer_pid)
            self._receive(tx, row, Role.CONSUMER, E.VERIFICATION, now)
            self.schedule(row, E.FINALIZED, now)
            tx.add(row)
        self.committed(row)
        return row

    def on_termination(
        self, peer: Peer, msg: ContractNegotiationTerminationMessage, *, role: Role
    ) -> NegotiationRow:
        now = self.clock()
        with self.store.transaction() as tx:
            if role is Role.PROVIDER:
                row = self._provider_row(tx, peer, msg.provider_pid, msg.consumer_pid)
                sender = Role.CONSUMER
            else:
                row = self._consumer_row(tx, peer, msg.consumer_pid, msg.provider_pid)
                sender = Role.PROVIDER
            detail = termination_detail(msg.code, *(msg.reason or []))
            self._receive(tx, row, sender, E.TERMINATION, now, detail, implied=False)
            clear_pending(row)
            row.awaiting_decision = False
            tx.add(row)
        self.committed(row)
        return row

    # -- consumer side, inbound -----------------------------------------------------------

    def on_offer(self, peer: Peer, msg: ContractOfferMessage) -> tuple[NegotiationRow, bool]:
        """A provider's offer: provider-initiated (new process) or a counter-offer."""
        now = self.clock()
        offer = msg.offer
        with self.store.transaction() as tx:
            if msg.consumer_pid is None:
                existing = self._opened_before(tx, peer, Role.CONSUMER, msg.provider_pid)
                if existing is not None:
                    return existing, False
                assert msg.callback_address is not None
                row = self._new_row(
                    role=Role.CONSUMER,
                    peer_pid=msg.provider_pid,
                    counterparty_did=peer.did,
                    counterparty_address=msg.callback_address,
                    dataset_id=target_of(offer),
                    offer=offer,
                    offer_by=Role.PROVIDER,
                )
                created = True
            else:
                row = self._consumer_row(tx, peer, msg.consumer_pid, msg.provider_pid)
                self._keeps_dataset(row, offer)
                created = False
            self._take_offer(tx, row, offer, Role.PROVIDER, E.CONTRACT_OFFER, now)
            # the consumer accepts provider offers automatically
            self.schedule(row, E.ACCEPTED, now)
            tx.add(row)
        self.committed(row)
        return row, created

    def on_agreement(self, peer: Peer, msg: ContractAgreementMessage) -> NegotiationRow:
        now = self.clock()
        agreement = msg.agreement
        with self.store.transaction() as tx:
            row = self._consumer_row(tx, peer, msg.consumer_pid, msg.provider_pid)
            problem = agreement_problem(
                agreement,
                dataset_id=row.dataset_id,
                provider=peer.did,
                consumer=self.own_did,
                last_offer=parse_policy(row.offer),
            )
            if problem:
                raise MessageError(f"agreement rejected: {problem}", code="invalid_agreement")
            self._receive(
                tx, row, Role.PROVIDER, E.AGREEMENT, now, detail={"agreement": agreement.to_json()}
            )
            self._store_agreement(tx, row, agreement, provider=peer.did, consumer=self.own_did)
            self.schedule(row, E.VERIFICATION, now)
            tx.add(row)
        self.committed(row)
        return row

    # -- operator actions -----------------------------------------------------------------

    def request(
        self, *, provider_did: str, provider_address: str, dataset_id: str, offer: Policy
    ) -> NegotiationRow:
        """Consumer: ask a provider for one of its offers."""
        now = self.clock()
        row = self._new_row(
            role=Role.CONSUMER,
            counterparty_did=provider_did,
            counterparty_address=provider_address,
            dataset_id=dataset_id,
            offer=dataclasses.replace(offer, target=dataset_id),
            offer_by=Role.CONSUMER,
        )
        self.schedule(row, E.CONTRACT_REQUEST, now)
        with self.store.transaction() as tx:
            tx.add(row)
        self.committed(row)
        return row

    def offer_to(
        self, *, consumer_did: str, consumer_address: str, dataset_id: str, offer_id: str
    ) -> NegotiationRow:
        """Provider: offer one of our dataset offers to a consumer (provider-initiated)."""
        now = self.clock()
        with self.store.transaction() as tx:
            ours = tx.offer(offer_id)
            if ours is None or ours.dataset_id != dataset_id:
                raise NotFound(
                    f"no offer {offer_id!r} on dataset {dataset_id!r}", code="unknown_offer"
                )
            row = self._new_row(
                role=Role.PROVIDER,
                counterparty_did=consumer_did,
                counterparty_address=consumer_address,
                dataset_id=dataset_id,
                offer=dataclasses.replace(parse_policy(ours.policy), target=dataset_id),
                offer_by=Role.PROVIDER,
            )
            self.schedule(row, E.CONTRACT_OFFER, now)
            tx.add(row)
        self.committed(row)
        return row

    def approve(self, pid: str) -> NegotiationRow:
        """Provider: agree to a negotiation parked for a human decision."""
        with self.store.transaction() as tx:
            row = self._parked(tx, pid)
            MACHINE.check(row, Role.PROVIDER, E.AGREEMENT)
            self.schedule(
                row, E.AGREEMENT, self.clock(), self._agreement_detail(row, parse_policy(row.offer))
            )
            row.awaiting_decision = False
            tx.add(row)
        self.committed(row)
        return row

    def counter_offer(self, pid: str, offer: Policy) -> NegotiationRow:
        """Provider: answer a parked request with different terms."""
        with self.store.transaction() as tx:
            row = self._parked(tx, pid)
            MACHINE.check(row, Role.PROVIDER, E.CONTRACT_OFFER)
            offer = dataclasses.replace(offer, target=row.dataset_id, uid=offer.uid or new_pid())
            self.schedule(row, E.CONTRACT_OFFER, self.clock(), {"offer": offer.to_json()})
            row.awaiting_decision = False
            tx.add(row)
        self.committed(row)
        return row

    def terminate(self, pid: str, *, code: str, reason: str) -> NegotiationRow:
        """Either side: end a negotiation that has not finished."""
        now = self.clock()
        with self.store.transaction() as tx:
            row = tx.process(NegotiationRow, pid)
            if row.state == INITIAL:  # the peer never heard of it: end it locally
                MACHINE._move(
                    tx,
                    row,
                    NegotiationState.TERMINATED,
                    E.TERMINATION,
                    now,
                    "local",
                    termination_detail(code, reason),
                )
                clear_pending(row)
            else:
                MACHINE.check(row, Role(row.role), E.TERMINATION)
                self.schedule(row, E.TERMINATION, now, termination_detail(code, reason))
            row.awaiting_decision = False
            tx.add(row)
        self.committed(row)
        return row

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
    ) -> None:
        """The peer's (counter-)offer or request becomes the negotiation's current offer."""
        self._receive(tx, row, sender, event, now, {"offer": offer.to_json()}, implied=implied)
        row.offer = offer.to_json()
        row.offer_by = sender

    @staticmethod
    def _keeps_dataset(row: NegotiationRow, offer: Policy) -> None:
        if target_of(offer) != row.dataset_id:
            raise MessageError("a counter-offer must keep the dataset", code="wrong_target")

    def _parked(self, tx: Transaction, pid: str) -> NegotiationRow:
        row = tx.process(NegotiationRow, pid, role=Role.PROVIDER)
        if not row.awaiting_decision:
            raise Conflict(
                "this negotiation is not waiting for a decision", code="not_awaiting_decision"
            )
        return row
