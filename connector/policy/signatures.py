"""Both parties' signatures over an agreement's canonical form.

The canonical form is the RFC 8785 JSON of the agreement's stored policy: exactly the policy
every later decision uses. Each party signs, with its DID key, a compact JWS of
{agreement, digest (SHA-256 of the form), iss, iat}, as soon as it has recorded the agreement;
it keeps its own and sends it to the other party (beside DSP, authenticated like DSP, through
the dispatcher), which verifies it against the signer's DID document and its own copy of the
agreement before keeping it. A signature over another form (a changed policy) is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import TYPE_CHECKING, Any

import rfc8785

from connector.clock import Clock
from connector.errors import ConnectorError, MessageError, NotFound
from connector.identity import jws
from connector.identity.errors import IdentityError
from connector.identity.keys import KeyRing
from connector.policy.sends import Sends
from connector.store.policy_queries import save_signature, signatures
from connector.store.policy_tables import AgreementSignatureRow
from connector.store.store import Store
from connector.store.tables import AgreementRow, NegotiationRow

if TYPE_CHECKING:
    from connector.control.dispatcher import Dispatcher
    from connector.identity.did import DidResolver

log = logging.getLogger("tsunagu.policy")
SIGNATURE_TYPE = "tsunagu-agreement+jws"
SIGNATURE_PATH = "/tsunagu/agreement-signatures"
SEND_ATTEMPTS = 6
SIGNED_STATES = frozenset({"AGREED", "VERIFIED", "FINALIZED"})
SENT_KEPT = 4096  # agreements remembered as sent (see AgreementSigner._sent)


def canonical_digest(policy: dict[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(policy)).hexdigest()


class AgreementSigner:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        keys: KeyRing,
        resolver: DidResolver,
        dispatcher: Dispatcher,
        *,
        own_did: str,
    ) -> None:
        self.store = store
        self.clock = clock
        self.keys = keys
        self.resolver = resolver
        self.dispatcher = dispatcher
        self.own_did = own_did
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sends = Sends()
        # Agreements whose signature this process sent: the later states that would send it
        # again (each a retry for when the first send failed) need not read the store. An
        # ordered set, trimmed: after a restart the store still says what was signed.
        self._sent: dict[str, None] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def changed(self, agreement_id: str | None, state: str) -> None:
        """Thread-safe, after a negotiation's commit: sign an agreement once it is recorded."""
        loop = self._loop
        if agreement_id is None or state not in SIGNED_STATES or loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._spawn, agreement_id)

    def _spawn(self, agreement_id: str) -> None:
        self._sends.start(self.sign_and_send(agreement_id))

    async def aclose(self) -> None:
        await self._sends.aclose()

    async def settle(self) -> None:
        await self._sends.settle()

    async def sign_and_send(self, agreement_id: str) -> None:
        if agreement_id in self._sent:
            return
        try:
            found = await self.store.call(self._unsigned, agreement_id)
            if found is None:
                return
            agreement, address = found
            token = self.sign(agreement)
            peer = (
                agreement.consumer_did
                if agreement.provider_did == self.own_did
                else agreement.provider_did
            )
            body = {"agreementId": agreement.id, "signature": token}
            for attempt in range(SEND_ATTEMPTS):
                try:
                    await self.dispatcher.send_extension(
                        address.rstrip("/") + SIGNATURE_PATH, body, audience=peer
                    )
                    self._sent[agreement_id] = None
                    if len(self._sent) > SENT_KEPT:
                        del self._sent[next(iter(self._sent))]
                    return
                except ConnectorError:
                    # The peer may not have recorded the agreement yet (its commit and ours
                    # race): try again, briefly.
                    if attempt == SEND_ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(0.1 * 2**attempt)
        except ConnectorError as exc:
            log.warning("agreement %s: signature not exchanged: %s", agreement_id, exc)

    def _unsigned(self, agreement_id: str) -> tuple[AgreementRow, str] | None:
        with self.store.transaction() as tx:
            try:
                agreement = tx.agreement(agreement_id)
            except NotFound:
                return None
            if tx.session.get(AgreementSignatureRow, (agreement_id, self.own_did)) is not None:
                return None
            # only its address is read: no row lock (a write, on PostgreSQL)
            negotiation = tx.process(NegotiationRow, agreement.negotiation_id, lock=False)
        return agreement, negotiation.counterparty_address

    def sign(self, agreement: AgreementRow) -> str:
        digest = canonical_digest(agreement.policy)
        claims = {
            "iss": self.own_did,
            "agreement": agreement.id,
            "digest": digest,
            "iat": int(self.clock().timestamp()),
        }
        token = jws.sign(self.keys.active, claims, typ=SIGNATURE_TYPE)
        row = AgreementSignatureRow(
            agreement_id=agreement.id,
            signer_did=self.own_did,
            jws=token,
            digest=digest,
            created_at=self.clock(),
        )
        save_signature(self.store, row)
        return token

    async def received(self, peer_did: str, body: Any) -> dict[str, Any]:
        """The other party's signature: verified, then kept."""
        if not isinstance(body, dict) or not isinstance(body.get("signature"), str):
            raise MessageError(
                'send {"agreementId": ..., "signature": ...}', code="invalid_signature"
            )
        agreement = await self.store.call(self._agreement, str(body.get("agreementId", "")))
        if (
            peer_did not in (agreement.provider_did, agreement.consumer_did)
            or peer_did == self.own_did
        ):
            raise NotFound("no such agreement", code="unknown_agreement")
        claims = await self.verify(body["signature"], agreement, peer_did)
        row = AgreementSignatureRow(
            agreement_id=agreement.id,
            signer_did=peer_did,
            jws=body["signature"],
            digest=str(claims["digest"]),
            created_at=self.clock(),
        )
        await self.store.call(save_signature, self.store, row)
        return {"received": True}

    async def verify(self, token: str, agreement: AgreementRow, signer: str) -> dict[str, Any]:
        """The signature's claims, if `signer` signed this agreement's canonical form."""
        try:
            unverified = jws.parse(token, typ=SIGNATURE_TYPE)
            key = await self.resolver.key_for(
                signer, unverified.kid, relationship="assertionMethod"
            )
            claims = jws.verify(token, key)
        except IdentityError as exc:
            raise MessageError(
                f"the signature does not verify: {exc}", code="invalid_signature"
            ) from exc
        if claims.get("iss") != signer or claims.get("agreement") != agreement.id:
            raise MessageError(
                "the signature is not the signer's over this agreement", code="invalid_signature"
            )
        if claims.get("digest") != canonical_digest(agreement.policy):
            raise MessageError(
                "the signature covers another form of the agreement", code="agreement_differs"
            )
        return claims

    def _agreement(self, agreement_id: str) -> AgreementRow:
        with self.store.transaction() as tx:
            try:
                return tx.agreement(agreement_id)
            except NotFound:
                raise NotFound("no such agreement", code="unknown_agreement") from None

    async def listing(self, agreement_id: str) -> dict[str, Any]:
        """Both parties' signatures, each checked again against the stored agreement."""
        agreement = await self.store.call(self._agreement, agreement_id)
        out = []
        for row in await self.store.call(signatures, self.store, agreement_id):
            try:
                await self.verify(row.jws, agreement, row.signer_did)
                valid, problem = True, None
            except ConnectorError as exc:
                valid, problem = False, str(exc)
            out.append(
                {"signer": row.signer_did, "jws": row.jws, "valid": valid, "problem": problem}
            )
        parties = {agreement.provider_did, agreement.consumer_did}
        signed = {s["signer"] for s in out if s["valid"]}
        return {
            "agreement_id": agreement.id,
            "canonical_sha256": canonical_digest(agreement.policy),
            "signatures": out,
            "complete": parties <= signed,
        }
