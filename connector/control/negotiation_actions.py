"""What an operator does with negotiations: open one (either role), and decide a step that
waits (approve it, counter with other terms, or terminate).

A held step is recorded as a hold naming the message that approving it sends
(`connector.control.holds`); approving checks the state machine first, so an operator cannot
send what the protocol does not allow either.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from connector.control.hold_rules import AcceptRule, parse_steps
from connector.control.holds import PEER_NOT_FOUND, end_hold
from connector.control.negotiation_records import MACHINE, E, NegotiationRecords
from connector.control.process import INITIAL, clear_pending, new_pid, termination_detail
from connector.errors import Conflict, NotFound
from connector.protocol.negotiation import NegotiationState
from connector.protocol.roles import Role
from connector.store.dataset_queries import refuse_if_retired
from connector.store.hold_queries import hold_of, offer_steps, set_rules
from connector.store.hold_tables import HoldRow
from connector.store.store import Transaction
from connector.store.tables import NegotiationRow
from policies.odrl import Policy, parse_policy

NEGOTIATION = "negotiation"


class NegotiationActions(NegotiationRecords):
    def request(
        self,
        *,
        provider_did: str,
        provider_address: str,
        dataset_id: str,
        offer: Policy,
        accept: Sequence[AcceptRule] = (),
        verify: str | None = None,
    ) -> NegotiationRow:
        """Consumer: ask a provider for one of its offers; `accept` adds acceptance rules for
        this negotiation, `verify` ("auto" | "hold") overrides the participant's."""
        now = self.clock()
        row = self._new_row(
            role=Role.CONSUMER,
            counterparty_did=provider_did,
            counterparty_address=provider_address,
            dataset_id=dataset_id,
            offer=dataclasses.replace(offer, target=dataset_id),
            offer_by=Role.CONSUMER,
        )
        rules: dict[str, Any] = {}
        if accept:
            rules["accept"] = [r.to_json() for r in accept]
        if verify is not None:
            rules["steps"] = parse_steps({"verify": verify}, where="verify", operator=True)
        self.schedule(row, E.CONTRACT_REQUEST, now)
        with self.store.transaction() as tx:
            tx.add(row)
            set_rules(tx, row.id, rules)
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
            refuse_if_retired(tx, dataset_id)
            row = self._new_row(
                role=Role.PROVIDER,
                counterparty_did=consumer_did,
                counterparty_address=consumer_address,
                dataset_id=dataset_id,
                offer=dataclasses.replace(parse_policy(ours.policy), target=dataset_id),
                offer_by=Role.PROVIDER,
            )
            steps = offer_steps(tx, offer_id)
            set_rules(tx, row.id, {"steps": steps} if steps else {})
            self.schedule(row, E.CONTRACT_OFFER, now)
            tx.add(row)
        self.committed(row)
        return row

    def approve(self, pid: str) -> NegotiationRow:
        """Either side: take the step that waits (agree, accept, verify, finalize, or send
        again what the peer did not know)."""
        now = self.clock()
        with self.store.transaction() as tx:
            row, hold = self._parked(tx, pid)
            if hold is not None and hold.waiting_for == PEER_NOT_FOUND:
                message, detail = hold.detail["message"], hold.detail.get("pending_detail")
            else:
                message = hold.waiting_for if hold is not None else E.AGREEMENT
                detail = None
            MACHINE.check(row, Role(row.role), message)
            if message == E.AGREEMENT and detail is None:
                detail = self._agreement_detail(row, parse_policy(row.offer))
            end_hold(tx, row, NEGOTIATION, now, action="approve")
            self.schedule(row, message, now, detail)
            tx.add(row)
        self.committed(row)
        return row

    def counter_offer(self, pid: str, offer: Policy) -> NegotiationRow:
        """Answer a step that waits with other terms: a provider's counter-offer to a request,
        or a consumer's counter-request to a provider's offer."""
        now = self.clock()
        with self.store.transaction() as tx:
            row, _hold = self._parked(tx, pid)
            message = E.CONTRACT_OFFER if row.role == Role.PROVIDER else E.CONTRACT_REQUEST
            MACHINE.check(row, Role(row.role), message)
            offer = dataclasses.replace(
                offer, kind="Offer", target=row.dataset_id, uid=offer.uid or new_pid()
            )
            end_hold(tx, row, NEGOTIATION, now, action="counter")
            self.schedule(row, message, now, {"offer": offer.to_json()})
            tx.add(row)
        self.committed(row)
        return row

    def terminate(self, pid: str, *, code: str, reason: str) -> NegotiationRow:
        """Either side: end a negotiation that has not finished."""
        now = self.clock()
        with self.store.transaction() as tx:
            row = tx.process(NegotiationRow, pid)
            hold = end_hold(tx, row, NEGOTIATION, now, action="terminate")
            # the peer never heard of it, or says it does not know it: end it here
            if row.state == INITIAL or (hold is not None and hold.waiting_for == PEER_NOT_FOUND):
                if row.state != INITIAL:
                    MACHINE.check(row, Role(row.role), E.TERMINATION)
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
            tx.add(row)
        self.committed(row)
        return row

    def _parked(self, tx: Transaction, pid: str) -> tuple[NegotiationRow, HoldRow | None]:
        row = tx.process(NegotiationRow, pid)
        if not row.awaiting_decision:
            raise Conflict(
                "this negotiation is not waiting for a decision", code="not_awaiting_decision"
            )
        # None: parked before holds were recorded (a provider's request needing approval)
        return row, hold_of(tx, pid)
