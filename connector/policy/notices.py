"""`inform` duties on the wire: the consumer's connector tells the owner's connector of every
use under an agreement that asks for it, and the owner's connector records what it was told.

The notice is a small JSON document sent through the dispatcher (the outbound-request policy:
the provider's DSP address as agreed, deadline, size cap, no redirects), authenticated like
every DSP request by the consumer's signed, audience-bound ID token. It is sent after the use
has begun, never before: a slow owner must not slow the read down.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from connector.clock import Clock
from connector.errors import ConnectorError, MessageError, NotFound
from connector.policy.digests import UsageDigests, digest_period
from connector.policy.duties import owes, record_notice
from connector.policy.sends import Sends
from connector.protocol.roles import Role
from connector.store.store import Store
from connector.store.tables import AgreementRow, NegotiationRow, TransferRow
from policies.odrl import parse_policy

if TYPE_CHECKING:  # handed in by the composition root (control imports policy, not back)
    from connector.control.dispatcher import Dispatcher

log = logging.getLogger("tsunagu.policy")
NOTICE_PATH = "/tsunagu/usage-notices"


class UsageNotices:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        dispatcher: Dispatcher,
        *,
        own_did: str,
        digests: UsageDigests | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.dispatcher = dispatcher
        self.own_did = own_did
        self.digests = digests  # `inform` with a period: one digest per period instead
        self._sends = Sends()
        self._owes: dict[str, tuple[bool, bool]] = {}  # agreement -> (inform owed, as digest)

    # -- consumer side --------------------------------------------------------------------------

    def used(self, transfer_id: str) -> None:
        """A read of our transfer began: notify the owner if the agreement asks for it."""
        self._sends.start(self._notify(transfer_id))

    async def aclose(self) -> None:
        await self._sends.aclose()

    async def settle(self) -> None:
        await self._sends.settle()

    async def _notify(self, transfer_id: str) -> None:
        try:
            found = await self.store.call(self._agreement_of, transfer_id)
            if found is None:
                return
            transfer, agreement, base, digest = found
            notice = {
                "agreementId": agreement.id,
                "transferId": transfer.peer_pid,
                "action": "use",
                "at": self.clock().isoformat(),
            }
            if digest and self.digests is not None:
                await self.store.call(self.digests.record_use, agreement, notice)
                return
            detail: dict[str, Any] = {"notice": notice}
            try:
                await self.dispatcher.send_extension(
                    base.rstrip("/") + NOTICE_PATH, notice, audience=agreement.provider_did
                )
                detail["acknowledged"] = True
            except ConnectorError as exc:
                detail["acknowledged"] = False
                detail["error"] = str(exc)[:500]
                log.warning("inform duty: notice for %s not delivered: %s", agreement.id, exc)
            await self.store.call(
                record_notice,
                self.store,
                agreement,
                role=Role.CONSUMER,
                now=self.clock(),
                detail=detail,
            )
        except ConnectorError as exc:
            log.warning("inform duty for transfer %s: %s", transfer_id, exc)

    def _agreement_of(self, transfer_id: str) -> tuple[TransferRow, AgreementRow, str, bool] | None:
        with self.store.transaction() as tx:
            transfer = tx.process(TransferRow, transfer_id)
            if transfer.role != Role.CONSUMER:
                return None
            agreement = tx.agreement(transfer.agreement_id)
            known = self._owes.get(agreement.id)
            if known is None:
                policy = parse_policy(agreement.policy)
                known = (owes(policy, "inform"), digest_period(policy) is not None)
                self._owes[agreement.id] = known
            wanted, digest = known
            if not wanted:
                return None
            negotiation = tx.process(NegotiationRow, agreement.negotiation_id)
            return transfer, agreement, negotiation.counterparty_address, digest

    # -- provider side --------------------------------------------------------------------------

    def received(self, peer_did: str, body: Any) -> dict[str, Any]:
        """A consumer's notice: recorded when it is about one of our agreements with it."""
        if not isinstance(body, dict) or not isinstance(body.get("agreementId"), str):
            raise MessageError(
                'send {"agreementId": ..., "action": "use", "at": ...}', code="invalid_notice"
            )
        with self.store.transaction() as tx:
            try:
                agreement = tx.agreement(body["agreementId"])
            except NotFound:
                raise NotFound("no such agreement", code="unknown_agreement") from None
        if agreement.provider_did != self.own_did or agreement.consumer_did != peer_did:
            raise NotFound("no such agreement", code="unknown_agreement")
        notice = {
            k: str(body[k])[:256]
            for k in ("agreementId", "transferId", "action", "at")
            if k in body
        }
        record_notice(
            self.store,
            agreement,
            role=Role.PROVIDER,
            now=self.clock(),
            detail={"notice": notice, "from": peer_did},
        )
        return {"received": True}
