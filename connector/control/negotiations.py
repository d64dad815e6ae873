"""Contract negotiation: inbound protocol messages on either side.

Inbound handlers only validate, transition and persist (one transaction) and then return the
ACK; they never call the peer. Anything we owe the peer is recorded as `pending` on the row and
sent by the runner (`connector.control.runner`); the record keeping around that (rows, ACKs,
outbound messages, what a delivered message changes) is `negotiation_records.py`, and what an
operator does is `negotiation_actions.py`.

Each step we take in answer is taken at once or held for the operator, by the owner's rules
(`hold_rules.py`): a provider agrees (or holds an offer marked `requires_approval`), agrees
after ACCEPTED, and finalizes after verification; a consumer accepts a provider's offer only
when it has the terms asked for or an acceptance rule allows it, and verifies an agreement.
"""

from __future__ import annotations

from typing import Any

from connector.control.acceptance import decide_on_offer, same_terms_as_asked
from connector.control.contract_decisions import (
    OfferDecision,
    agreement_problem,
    decide_on_request,
)
from connector.control.hold_rules import Steps
from connector.control.holds import HoldNotice, end_hold, start_hold
from connector.control.negotiation_actions import NEGOTIATION, NegotiationActions
from connector.control.negotiation_records import E, requester_of, target_of
from connector.control.peers import Peer
from connector.control.process import INITIAL, clear_pending, termination_detail
from connector.errors import InvalidTransition, MessageError
from connector.policy.stored import stored_policy
from connector.protocol.messages import (
    ContractAgreementMessage,
    ContractAgreementVerificationMessage,
    ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage,
    ContractOfferMessage,
    ContractRequestMessage,
)
from connector.protocol.roles import Role
from connector.store.dataset_queries import terms_for_new_negotiation
from connector.store.hold_queries import set_rules
from connector.store.store import Transaction
from connector.store.tables import NegotiationRow
from policies.odrl import Policy


class NegotiationService(NegotiationActions):
    """Inbound messages on either side (and, inherited, the operator's decisions)."""

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
                terms = terms_for_new_negotiation(tx, dataset_id)
                offers = terms.offers
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
                steps = terms.steps.get(offer.uid, {})
                set_rules(tx, row.id, {"steps": steps} if steps else {}, new_process=True)
                # Known without a look-up (which would write out the new rows first).
                row_steps: Steps | None = self.holds.steps.over(steps)
                created = True
            else:
                row = self._provider_row(tx, peer, msg.provider_pid, msg.consumer_pid)
                self._keeps_dataset(row, offer)
                created = False
                row_steps = None
            previous, previous_by = self._take_offer(
                tx, row, offer, Role.CONSUMER, E.CONTRACT_REQUEST, now, implied=False
            )
            if not created:
                offers = tx.offers([row.dataset_id])
            ours = stored_policy(previous) if not created and previous_by == Role.PROVIDER else None
            notice = self._decide_on_offer(
                tx, row, offer, offers_of=offers, peer=peer, ours=ours, steps=row_steps
            )
            tx.add(row)
        self.committed(row)
        self.held(notice)
        return row, created

    def _decide_on_offer(
        self,
        tx: Transaction,
        row: NegotiationRow,
        offer: Policy,
        *,
        offers_of: Any,
        peer: Peer,
        ours: Policy | None,
        steps: Steps | None = None,
    ) -> HoldNotice | None:
        """Agree, refuse or hold a consumer's request; `ours` is our own counter-offer that a
        counter-request answers (its terms again: agreed; other terms: the operator decides).
        `steps`: the row's steps when known already (else read)."""
        now = self.clock()

        def steps_now() -> Steps:
            return steps if steps is not None else self._steps(tx, row)

        if ours is not None and same_terms_as_asked(ours, offer):
            self.schedule(row, E.AGREEMENT, now, self._agreement_detail(row, offer))
            return None
        decision = decide_on_request(
            list(offers_of), offer, pdp=self.pdp, requester=requester_of(peer), now=now
        )
        reason = None
        if decision.action == "agree" and decision.narrowed is not None:
            narrower = steps_now().narrower  # the offer's switch (docs/holds.md)
            why = f"the requested terms are narrower than offer {decision.narrowed}"
            if narrower == "hold":
                reason = f"{why}, which holds narrower terms for the operator"
            elif narrower == "refuse":
                decision = OfferDecision(
                    "refuse",
                    "narrower_not_accepted",
                    (f"{why}, which agrees only to its own terms",),
                    decision.narrowed,
                )
        if ours is not None and (
            decision.action == "park" or decision.code == "offer_not_acceptable"
        ):
            reason = "the consumer's counter-request has other terms than our offer"
        elif decision.action == "park":
            reason = "the offer needs the operator's approval"
        elif reason is None and decision.action == "agree" and steps_now().agree == "hold":
            reason = "this participant holds every request for the operator"
        if reason is not None:
            return start_hold(
                tx,
                row,
                NEGOTIATION,
                E.AGREEMENT,
                now,
                {"after": "CONTRACT_REQUEST", "reason": reason},
            )
        if decision.action == "agree":
            self.schedule(row, E.AGREEMENT, now, self._agreement_detail(row, offer))
        else:
            self.schedule(
                row, E.TERMINATION, now, termination_detail(decision.code, *decision.reasons)
            )
        return None

    def on_event(
        self, peer: Peer, msg: ContractNegotiationEventMessage, *, role: Role
    ) -> NegotiationRow:
        now = self.clock()
        notice = None
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
                steps = self._steps(tx, row)  # read first: a read later writes out the changes
                self._receive(tx, row, Role.CONSUMER, E.ACCEPTED, now)
                offer = stored_policy(row.offer)
                if steps.after_accept == "hold":
                    notice = start_hold(
                        tx, row, NEGOTIATION, E.AGREEMENT, now, {"after": "ACCEPTED"}
                    )
                else:
                    self.schedule(row, E.AGREEMENT, now, self._agreement_detail(row, offer))
            else:
                row = self._consumer_row(tx, peer, msg.consumer_pid, msg.provider_pid)
                if msg.event_type != "FINALIZED":
                    raise InvalidTransition("a provider may only send FINALIZED events")
                self._receive(tx, row, Role.PROVIDER, E.FINALIZED, now)
            tx.add(row)
        self.committed(row)
        self.held(notice)
        return row

    def on_verification(
        self, peer: Peer, msg: ContractAgreementVerificationMessage
    ) -> NegotiationRow:
        now = self.clock()
        notice = None
        with self.store.transaction() as tx:
            row = self._provider_row(tx, peer, msg.provider_pid, msg.consumer_pid)
            steps = self._steps(tx, row)  # read first: a read later writes out the changes
            self._receive(tx, row, Role.CONSUMER, E.VERIFICATION, now)
            if steps.finalize == "hold":
                notice = start_hold(
                    tx, row, NEGOTIATION, E.FINALIZED, now, {"agreement_id": row.agreement_id}
                )
            else:
                self.schedule(row, E.FINALIZED, now)
            tx.add(row)
        self.committed(row)
        self.held(notice)
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
            if row.awaiting_decision:
                end_hold(tx, row, NEGOTIATION, now, action=None)
            tx.add(row)
        self.committed(row)
        return row

    # -- consumer side, inbound -----------------------------------------------------------

    def on_offer(self, peer: Peer, msg: ContractOfferMessage) -> tuple[NegotiationRow, bool]:
        """A provider's offer: provider-initiated (new process) or a counter-offer. Accepted
        at once only with the terms we asked for or under an acceptance rule; else it waits
        in OFFERED for the operator."""
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
            previous, previous_by = self._take_offer(
                tx, row, offer, Role.PROVIDER, E.CONTRACT_OFFER, now
            )
            asked = (
                stored_policy(previous) if not created and previous_by == Role.CONSUMER else None
            )
            acceptance = decide_on_offer(
                offer,
                asked=asked,
                rules=self._accept_rules(tx, row),
                provider=peer.did,
                claims=peer.claims,
                dataset_id=row.dataset_id,
            )
            notice = None
            if acceptance.accepted:
                self.schedule(row, E.ACCEPTED, now)
            else:
                notice = start_hold(
                    tx, row, NEGOTIATION, E.ACCEPTED, now, {"reason": acceptance.reason}
                )
            tx.add(row)
        self.committed(row)
        self.held(notice)
        return row, created

    def on_agreement(self, peer: Peer, msg: ContractAgreementMessage) -> NegotiationRow:
        now = self.clock()
        agreement = msg.agreement
        notice = None
        with self.store.transaction() as tx:
            row = self._consumer_row(tx, peer, msg.consumer_pid, msg.provider_pid)
            problem = agreement_problem(
                agreement,
                dataset_id=row.dataset_id,
                provider=peer.did,
                consumer=self.own_did,
                last_offer=stored_policy(row.offer),
            )
            if problem:
                raise MessageError(f"agreement rejected: {problem}", code="invalid_agreement")
            steps = self._steps(tx, row)  # read first: a read later writes out the changes
            self._receive(
                tx, row, Role.PROVIDER, E.AGREEMENT, now, detail={"agreement": agreement.to_json()}
            )
            self._store_agreement(tx, row, agreement, provider=peer.did, consumer=self.own_did)
            if steps.verify == "hold":
                notice = start_hold(
                    tx, row, NEGOTIATION, E.VERIFICATION, now, {"agreement_id": agreement.uid}
                )
            else:
                self.schedule(row, E.VERIFICATION, now)
            tx.add(row)
        self.committed(row)
        self.held(notice)
        return row
