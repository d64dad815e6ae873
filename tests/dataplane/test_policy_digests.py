"""`inform` as a daily digest: the consumer's connector lists the day's uses in one signed
digest per agreement, sent once the day is over; the owner's connector verifies and records
it, and the duty shows as met, due or overdue on both sides."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from connector.clock import ManualClock
from connector.demo.localspace import LocalDataspace
from connector.errors import ConnectorError
from connector.identity import jws
from connector.policy.digests import DIGEST_TYPE

from .conftest import start_pull
from .test_policy_duties import levels, read_through_consumer, with_duties

__all__ = ["levels"]

pytestmark = pytest.mark.anyio

DAILY = {
    "action": "inform",
    "constraint": [{"leftOperand": "timeInterval", "operator": "eq", "rightOperand": "P1D"}],
}


async def inform_view(space: LocalDataspace, side: str, agreement_id: str) -> dict[str, Any]:
    listing = await space[side].client.call("GET", f"/agreements/{agreement_id}/duties")
    [duty] = listing["duties"]
    assert duty["action"] == "inform"
    return dict(duty)


async def test_one_signed_digest_per_day_lists_the_uses(
    timed: LocalDataspace, clock: ManualClock, levels: dict[str, Any]
) -> None:
    pull = await start_pull(timed, levels, with_duties("urn:offer:daily", DAILY))
    for _ in range(3):
        assert (await read_through_consumer(timed, pull.consumer_id)).status_code == 200
    notices = timed["consumer"].connector.notices
    assert notices is not None and notices.digests is not None
    await notices.settle()
    # the day is not over: nothing is owed yet, and nothing was sent use by use
    owner = await inform_view(timed, "provider", pull.agreement_id)
    assert owner["state"] == "met" and owner["records"] == []
    mine = await inform_view(timed, "consumer", pull.agreement_id)
    assert mine["uses_not_yet_sent"] == 3
    assert await notices.digests.send_due() == 0
    # the next day, two hours in: the owner has no digest for yesterday yet
    clock.advance(timedelta(days=1, hours=2).total_seconds())
    assert (await inform_view(timed, "provider", pull.agreement_id))["state"] == "overdue"
    assert (await read_through_consumer(timed, pull.consumer_id)).status_code == 200
    await notices.settle()
    assert await notices.digests.send_due() == 1  # yesterday's; today's is not over
    assert await notices.digests.send_due() == 0  # and only once
    owner = await inform_view(timed, "provider", pull.agreement_id)
    assert owner["state"] == "met", owner
    [received] = owner["records"]
    digest = received["detail"]["digest"]
    assert digest["agreementId"] == pull.agreement_id and digest["count"] == 3
    assert len(digest["uses"]) == 3
    assert received["detail"]["from"] == timed["consumer"].did
    claims = jws.parse(received["detail"]["jws"], typ=DIGEST_TYPE)
    assert claims.kid  # signed by the consumer's DID key, verified on receipt
    mine = await inform_view(timed, "consumer", pull.agreement_id)
    assert mine["state"] == "met" and mine["uses_not_yet_sent"] == 1  # today's use
    # a day with no use still gets its digest (count 0)
    clock.advance(timedelta(days=2).total_seconds())
    assert await notices.digests.send_due() == 2
    owner = await inform_view(timed, "provider", pull.agreement_id)
    counts = [r["detail"]["digest"]["count"] for r in owner["records"]]
    assert sorted(counts) == [0, 1, 3]


async def test_a_bad_digest_is_refused_and_recorded_nowhere(
    timed: LocalDataspace, levels: dict[str, Any]
) -> None:
    pull = await start_pull(timed, levels, with_duties("urn:offer:daily-bad", DAILY))
    owner = timed["provider"].connector.notices
    assert owner is not None and owner.digests is not None
    consumer = timed["consumer"]
    with pytest.raises(ConnectorError) as garbled:
        await owner.digests.received(consumer.did, {"digest": "not.a.jws"})
    assert garbled.value.code == "invalid_digest"
    with pytest.raises(ConnectorError) as missing:
        await owner.digests.received(consumer.did, {"uses": []})
    assert missing.value.code == "invalid_digest"
    # signed by the provider itself, claiming to be the consumer's
    forged = jws.sign(
        timed["provider"].connector.keys.active,
        {"iss": consumer.did, "digest": {"agreementId": pull.agreement_id}},
        typ=DIGEST_TYPE,
    )
    with pytest.raises(ConnectorError) as wrong_key:
        await owner.digests.received(consumer.did, {"digest": forged})
    assert wrong_key.value.code == "invalid_digest"
    assert (await inform_view(timed, "provider", pull.agreement_id))["records"] == []
