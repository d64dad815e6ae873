"""`inform` as a daily digest: one signed list of the uses per agreement per period.

An offer asks for it with a period on its `inform` duty:

    "duty": [{"action": "inform",
              "constraint": [{"leftOperand": "timeInterval", "operator": "eq",
                              "rightOperand": "P1D"}]}]

Without a period every use is notified as it happens (connector/policy/notices.py). With one,
the consumer's connector records each use, and once a period is over (periods are counted in
UTC from the epoch: P1D is a UTC calendar day) it sends the owner's connector one digest per
agreement and period, listing the uses in it (none is a digest too: the owner learns there
were none). The digest is a compact JWS by the consumer's DID key, sent like every notice (the
dispatcher, the consumer's DSP ID token). The owner verifies it against the consumer's DID
document and records it; a period with no digest an hour after its end shows the duty as
`overdue` on both sides, and `met` once every finished period has its digest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from connector.clock import Clock
from connector.errors import ConnectorError, MessageError, NotFound
from connector.identity import jws
from connector.identity.errors import IdentityError
from connector.policy.starts import aware
from connector.protocol.roles import Role
from connector.store.policy_queries import add_duty, agreements_as_consumer, duties, fulfil_duty
from connector.store.policy_tables import DutyRow
from connector.store.store import Store
from connector.store.tables import AgreementRow
from policies.errors import PolicyError
from policies.model import Constraint, Policy
from policies.values import items, parse_duration

if TYPE_CHECKING:
    from connector.control.dispatcher import Dispatcher
    from connector.identity.did import DidResolver
    from connector.identity.keys import KeyRing

log = logging.getLogger("tsunagu.policy")

DIGEST_PATH = "/tsunagu/usage-digests"
DIGEST_TYPE = "tsunagu-usage-digest+jws"
GRACE = timedelta(hours=1)  # after a period's end, before its digest is overdue
MAX_PERIODS = 31  # digests one agreement sends in one round (a connector long offline)
MAX_USES = 10_000  # uses listed in one digest; more are counted, not listed
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def digest_period(policy: Policy) -> timedelta | None:
    """The period of the policy's `inform` duty (None: notify each use)."""
    owed = [d for rule in policy.permissions for d in rule.duties] + list(policy.obligations)
    for duty in owed:
        if duty.action != "inform":
            continue
        for c in duty.constraints:
            if isinstance(c, Constraint) and c.left_operand == "timeInterval":
                try:
                    duration = parse_duration(items(c.right_operand)[0])
                except PolicyError:
                    return None
                if duration.months or duration.rest <= timedelta(0):
                    return None  # calendar months do not divide time evenly: per use
                return duration.rest
    return None


def period_start(at: datetime, period: timedelta) -> datetime:
    return EPOCH + ((aware(at) - EPOCH) // period) * period


def digest_state(
    agreement: AgreementRow, records: Sequence[DutyRow], period: timedelta, now: datetime
) -> tuple[str, str | None]:
    """`met`, `due` (a period just ended, within the grace) or `overdue`, and until when the
    digests run (the end of the last period covered)."""
    ends = [
        datetime.fromisoformat(str(r.detail["digest"]["until"]))
        for r in records
        if r.action == "inform" and isinstance(r.detail.get("digest"), dict)
    ]
    covered = max(ends, default=period_start(aware(agreement.signed_at), period))
    owed_until = period_start(now, period)
    if covered >= owed_until:
        return "met", covered.isoformat()
    late = now >= covered + period + GRACE
    return ("overdue" if late else "due"), covered.isoformat()


class UsageDigests:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        dispatcher: Dispatcher,
        keys: KeyRing,
        resolver: DidResolver,
        *,
        own_did: str,
    ) -> None:
        self.store = store
        self.clock = clock
        self.dispatcher = dispatcher
        self.keys = keys
        self.resolver = resolver
        self.own_did = own_did

    # -- consumer side --------------------------------------------------------------------------

    def record_use(self, agreement: AgreementRow, use: dict[str, Any]) -> None:
        """Blocking: one use to list in the agreement's next digest."""
        with self.store.transaction() as tx:
            add_duty(
                tx,
                agreement_id=agreement.id,
                role=Role.CONSUMER,
                action="inform",
                now=self.clock(),
                detail={"use": use},
            )

    async def send_due(self) -> int:
        """Every digest owed for finished periods, oldest first; returns how many went out."""
        sent = 0
        for agreement, period, records in await self.store.call(self._owing):
            covered = digest_state(agreement, records, period, self.clock())[1]
            start = datetime.fromisoformat(str(covered))
            for _ in range(MAX_PERIODS):
                end = start + period
                if end > self.clock():
                    break
                if not await self._send(agreement, start, end, records):
                    break  # not delivered: the next round tries this period again
                sent += 1
                start = end
        return sent

    def _owing(self) -> list[tuple[AgreementRow, timedelta, list[DutyRow]]]:
        from policies.odrl import parse_policy

        out = []
        for agreement in agreements_as_consumer(self.store, self.own_did):
            period = digest_period(parse_policy(agreement.policy))
            if period is not None:
                out.append((agreement, period, list(duties(self.store, agreement.id))))
        return out

    async def _send(
        self, agreement: AgreementRow, start: datetime, end: datetime, records: list[DutyRow]
    ) -> bool:
        uses = [
            r
            for r in records
            if r.state == "open"
            and isinstance(r.detail.get("use"), dict)
            and start <= datetime.fromisoformat(str(r.detail["use"]["at"])) < end
        ]
        digest = {
            "agreementId": agreement.id,
            "from": start.isoformat(),
            "until": end.isoformat(),
            "count": len(uses),
            "uses": [r.detail["use"] for r in uses[:MAX_USES]],
        }
        claims = {"iss": self.own_did, "digest": digest, "iat": int(self.clock().timestamp())}
        token = jws.sign(self.keys.active, claims, typ=DIGEST_TYPE)
        base = await self.store.call(self._provider_address, agreement)
        try:
            await self.dispatcher.send_extension(
                base.rstrip("/") + DIGEST_PATH, {"digest": token}, audience=agreement.provider_did
            )
        except ConnectorError as exc:
            log.warning("inform digest for %s not delivered: %s", agreement.id, exc)
            return False
        await self.store.call(self._sent, agreement, digest, token, [r.id for r in uses])
        return True

    def _provider_address(self, agreement: AgreementRow) -> str:
        from connector.store.tables import NegotiationRow

        with self.store.transaction() as tx:
            return tx.process(NegotiationRow, agreement.negotiation_id).counterparty_address

    def _sent(
        self, agreement: AgreementRow, digest: dict[str, Any], token: str, listed: list[str]
    ) -> None:
        now = self.clock()
        with self.store.transaction() as tx:
            for duty_id in listed:
                fulfil_duty(tx, duty_id, now, {"digest_until": digest["until"]})
            row = add_duty(
                tx,
                agreement_id=agreement.id,
                role=Role.CONSUMER,
                action="inform",
                now=now,
                detail={"digest": digest, "jws": token, "acknowledged": True},
            )
            fulfil_duty(tx, row.id, now, {})

    # -- provider side --------------------------------------------------------------------------

    async def received(self, peer_did: str, body: Any) -> dict[str, Any]:
        """A consumer's digest: verified against its DID key and our agreement, then kept."""
        token = body.get("digest") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise MessageError('send {"digest": JWS}', code="invalid_digest")
        try:
            unverified = jws.parse(token, typ=DIGEST_TYPE)
            key = await self.resolver.key_for(
                peer_did, unverified.kid, relationship="assertionMethod"
            )
            claims = jws.verify(token, key)
        except IdentityError as exc:
            raise MessageError(f"the digest does not verify: {exc}", code="invalid_digest") from exc
        digest = claims.get("digest")
        if claims.get("iss") != peer_did or not isinstance(digest, dict):
            raise MessageError("the digest is not the sender's", code="invalid_digest")
        try:
            start = aware(datetime.fromisoformat(str(digest["from"])))
            end = aware(datetime.fromisoformat(str(digest["until"])))
            count = int(digest["count"])
            uses = list(digest["uses"])
        except (KeyError, TypeError, ValueError):
            raise MessageError(
                "a digest names its agreementId, from, until, count and uses",
                code="invalid_digest",
            ) from None
        if not start < end or count < 0 or len(uses) > MAX_USES:
            raise MessageError("the digest's period or uses do not add up", code="invalid_digest")
        await self.store.call(self._keep, peer_did, digest, token)
        return {"received": True}

    def _keep(self, peer_did: str, digest: dict[str, Any], token: str) -> None:
        with self.store.transaction() as tx:
            try:
                agreement = tx.agreement(str(digest.get("agreementId", "")))
            except NotFound:
                raise NotFound("no such agreement", code="unknown_agreement") from None
            if agreement.provider_did != self.own_did or agreement.consumer_did != peer_did:
                raise NotFound("no such agreement", code="unknown_agreement")
            row = add_duty(
                tx,
                agreement_id=agreement.id,
                role=Role.PROVIDER,
                action="inform",
                now=self.clock(),
                detail={"digest": digest, "jws": token, "from": peer_did},
            )
            fulfil_duty(tx, row.id, self.clock(), {})
