"""Every request is checked: token, transfer state, agreement. Each refusal has its status."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from connector.api.client import ManagementError
from connector.clock import ManualClock
from connector.demo.localspace import LocalDataspace
from connector.identity import jws
from connector.identity.access_tokens import ACCESS_TOKEN_TYPE, issue_transfer_token
from connector.serving import BackgroundServer, free_port
from connector.store.tables import AgreementRow, TransferRow

from .conftest import Pull, offer, publish, start_pull
from .owner import owner_app

pytestmark = pytest.mark.anyio


@pytest.fixture
def levels(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "levels.csv"
    path.write_text("station,level\n上流,1.42\n")
    return {"type": "file", "path": str(path)}


@pytest.fixture
async def owner() -> AsyncIterator[str]:
    state: dict[str, Any] = {}
    port = free_port()
    server = BackgroundServer(owner_app(state), host="127.0.0.1", port=port)
    await server.start()
    yield f"http://127.0.0.1:{port}/api"
    state["released"].set()
    await server.stop()


def error(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def operator(pull: Pull, side: str, action: str, **body: Any) -> dict[str, Any]:
    pid = pull.provider_id if side == "provider" else pull.consumer_id
    result: dict[str, Any] = await pull.space[side].client.call(
        "POST", f"/transfers/{pid}/{action}", json=body
    )
    return result


async def settled(pull: Pull, side: str, state: str) -> None:
    pid = pull.provider_id if side == "provider" else pull.consumer_id
    record = await pull.space[side].client.wait_for("transfers", pid, [state], timeout=20)
    assert record["state"] == state


async def refresh(pull: Pull, refresh_token: str, *, caller: str = "consumer") -> httpx.Response:
    space = pull.space
    id_token = space[caller].connector.dispatcher.token_for(space["provider"].did)
    async with httpx.AsyncClient() as http:
        return await http.post(
            pull.props["refreshEndpoint"],
            json={"refresh_token": refresh_token},
            headers={"Authorization": f"Bearer {id_token}"},
        )


# -- tokens --------------------------------------------------------------------------------


async def test_no_token_or_a_garbled_one_is_401_with_a_reason(
    space: LocalDataspace, levels: dict[str, Any]
) -> None:
    pull = await start_pull(space, levels)
    async with httpx.AsyncClient() as http:
        bare = await http.get(pull.endpoint)
    assert bare.status_code == 401 and error(bare) == "token_missing"
    assert bare.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    garbled = await pull.get(token="not.a.token")
    assert garbled.status_code == 401
    assert "error_description=" in garbled.headers["www-authenticate"]


async def test_a_token_signed_by_someone_else_is_refused(
    space: LocalDataspace, levels: dict[str, Any]
) -> None:
    pull = await start_pull(space, levels)
    consumer = space["consumer"]
    forged = issue_transfer_token(
        consumer.connector.keys.active,  # the consumer's key, posing as the provider
        issuer=space["provider"].did,
        audience=space["provider"].did,
        subject=consumer.did,
        agreement_id=pull.agreement_id,
        transfer_id=pull.provider_id,
        now=consumer.connector.clock(),
    )
    response = await pull.get(token=forged)
    assert response.status_code == 401 and error(response) == "token_foreign"
    assert (await pull.get()).status_code == 200


async def test_a_token_of_another_transfer_is_refused(
    space: LocalDataspace, levels: dict[str, Any]
) -> None:
    first = await start_pull(space, levels, dataset="urn:test:first")
    second = await start_pull(space, levels, dataset="urn:test:second")
    response = await first.get(token=second.token)
    assert response.status_code == 401 and error(response) == "token_wrong_transfer"


async def test_expired_token_is_401_and_refresh_renews_it(
    timed: LocalDataspace, clock: ManualClock, levels: dict[str, Any]
) -> None:
    pull = await start_pull(timed, levels)
    clock.advance(301)
    expired = await pull.get()
    assert expired.status_code == 401 and error(expired) == "token_expired"
    assert "expired" in expired.headers["www-authenticate"]
    renewed = await refresh(pull, pull.props["refreshToken"])
    assert renewed.status_code == 200, renewed.text
    tokens = renewed.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] <= 300
    claims = jws.parse(tokens["access_token"], typ=ACCESS_TOKEN_TYPE).claims
    assert claims["sub"] == timed["consumer"].did and claims["transfer_id"] == pull.provider_id
    assert claims["exp"] - claims["iat"] <= 300
    assert (await pull.get(token=tokens["access_token"])).status_code == 200


async def test_a_lost_refresh_response_does_not_lock_the_consumer_out(
    space: LocalDataspace, levels: dict[str, Any]
) -> None:
    pull = await start_pull(space, levels)
    first = pull.props["refreshToken"]
    lost = await refresh(pull, first)  # the response never reaches the consumer
    assert lost.status_code == 200
    again = await refresh(pull, first)  # so it tries again with what it has
    assert again.status_code == 200
    second = again.json()["refresh_token"]
    superseded = await refresh(pull, lost.json()["refresh_token"])
    assert superseded.status_code == 401 and error(superseded) == "refresh_token_invalid"
    assert (await pull.get(token=again.json()["access_token"])).status_code == 200
    # using the new refresh token retires the one before it
    assert (await refresh(pull, second)).status_code == 200
    retired = await refresh(pull, first)
    assert retired.status_code == 401 and error(retired) == "refresh_token_invalid"


async def test_only_the_transfers_consumer_can_refresh(
    space: LocalDataspace, levels: dict[str, Any]
) -> None:
    pull = await start_pull(space, levels)
    other = await refresh(pull, pull.props["refreshToken"], caller="provider")
    assert other.status_code == 401 and error(other) == "token_wrong_consumer"
    async with httpx.AsyncClient() as http:
        anonymous = await http.post(
            pull.props["refreshEndpoint"], json={"refresh_token": pull.props["refreshToken"]}
        )
        malformed = await http.post(pull.props["refreshEndpoint"], content=b"{")
    assert anonymous.status_code == 401 and malformed.status_code == 400
    assert (await refresh(pull, pull.props["refreshToken"])).status_code == 200


# -- transfer state --------------------------------------------------------------------------


async def test_suspended_is_403_and_resumed_works_again(
    space: LocalDataspace, levels: dict[str, Any]
) -> None:
    pull = await start_pull(space, levels)
    await operator(pull, "consumer", "suspend", reason="maintenance")
    await settled(pull, "provider", "SUSPENDED")
    await settled(pull, "consumer", "SUSPENDED")  # booked delivered: it may resume now
    response = await pull.get()
    assert response.status_code == 403 and error(response) == "transfer_suspended"
    assert "SUSPENDED" in response.json()["error"]["message"]
    await operator(pull, "consumer", "resume")
    await settled(pull, "consumer", "STARTED")
    data = await space["consumer"].client._http.get(
        f"{space['consumer'].client.base_url}/management/transfers/{pull.consumer_id}/data",
        headers=space["consumer"].client._headers,
    )
    assert data.status_code == 200 and "上流" in data.text


async def test_terminating_revokes_the_tokens(
    space: LocalDataspace, levels: dict[str, Any]
) -> None:
    pull = await start_pull(space, levels)
    await operator(pull, "provider", "terminate", code="owner_request", reason="sensor recalled")
    await settled(pull, "consumer", "TERMINATED")
    # The provider records TERMINATED once the consumer's ACK is back, a moment after the
    # consumer has it: wait for that rather than racing it.
    await settled(pull, "provider", "TERMINATED")
    response = await pull.get()
    assert response.status_code == 401 and error(response) == "token_revoked"
    again = await refresh(pull, pull.props["refreshToken"])
    assert again.status_code == 401 and error(again) == "token_revoked"


async def test_suspending_cuts_an_open_stream(space: LocalDataspace, owner: str) -> None:
    pull = await start_pull(space, {"type": "http", "baseUrl": f"{owner}/trickle"})
    received = 0
    async with (
        httpx.AsyncClient(timeout=10) as http,
        http.stream(
            "GET", pull.endpoint, headers={"Authorization": f"Bearer {pull.token}"}
        ) as response,
    ):
        assert response.status_code == 200
        # The owner's stream has no end: only the suspension can end this read.
        with anyio.fail_after(20), pytest.raises(httpx.RemoteProtocolError):
            async for chunk in response.aiter_raw():
                received += len(chunk)
                if received >= 4096 and received - len(chunk) < 4096:
                    await operator(pull, "provider", "suspend", reason="owner maintenance")
    assert received >= 4096
    after = await pull.get()
    assert after.status_code == 403 and error(after) == "transfer_suspended"
    assert space["provider"].connector.dataplane.streams.count() == 0


# -- the agreement -----------------------------------------------------------------------------


async def test_an_expired_agreement_is_403(
    timed: LocalDataspace, clock: ManualClock, levels: dict[str, Any]
) -> None:
    until = (clock() + timedelta(seconds=200)).isoformat()
    window = {"leftOperand": "dateTime", "operator": "lt", "rightOperand": until}
    pull = await start_pull(timed, levels, offer("urn:offer:window", window))
    assert (await pull.get()).status_code == 200
    clock.advance(250)  # the token is still fresh, the agreement is not
    response = await pull.get()
    assert response.status_code == 403 and error(response) == "agreement_expired"


async def test_an_offer_with_an_access_count_negotiates_and_is_counted_per_request(
    space: LocalDataspace, levels: dict[str, Any]
) -> None:
    limit = {"leftOperand": "odrl:count", "operator": "odrl:lteq", "rightOperand": 3}
    pull = await start_pull(space, levels, offer("urn:offer:three-reads", limit))
    [agreement] = await space["consumer"].client.call("GET", "/agreements")
    [constraint] = agreement["policy"]["permission"][0]["constraint"]
    assert (constraint["leftOperand"], constraint["rightOperand"]["@value"]) == ("count", "3")
    assert [(await pull.get()).status_code for _ in range(3)] == [200, 200, 200]
    fourth = await pull.get()
    assert fourth.status_code == 403 and error(fourth) == "access_limit_reached"
    assert fourth.json()["error"]["message"] == "the agreement allows 3 accesses; all are used"
    # Through the consumer connector the operator reads the same refusal.
    consumer = space["consumer"].client
    through = await consumer._http.get(
        f"{consumer.base_url}/management/transfers/{pull.consumer_id}/data",
        headers=consumer._headers,
    )
    assert through.status_code == 403 and error(through) == "access_limit_reached"


async def test_an_access_count_that_cannot_be_counted_is_refused_when_published(
    space: LocalDataspace, levels: dict[str, Any]
) -> None:
    """`count gteq 3` cannot be enforced access by access: the offer is refused as it is
    written (the decision point refuses it at negotiation too, for a peer's counter-request:
    tests/policies)."""
    at_least = {"leftOperand": "count", "operator": "gteq", "rightOperand": 3}
    with pytest.raises(ManagementError) as caught:
        await publish(space, "urn:test:at-least", levels, offer("urn:offer:at-least", at_least))
    assert caught.value.code == "invalid_policy" and "only an upper limit" in str(caught.value)
    datasets = await space["provider"].client.call("GET", "/datasets")
    assert "urn:test:at-least" not in [d["id"] for d in datasets]


async def test_a_revoked_agreement_is_403_at_once(
    space: LocalDataspace, levels: dict[str, Any]
) -> None:
    pull = await start_pull(space, levels)
    assert (await pull.get()).status_code == 200
    await space["provider"].client.call(
        "POST", f"/agreements/{pull.agreement_id}/revoke", json={"reason": "consent withdrawn"}
    )
    response = await pull.get()
    assert response.status_code == 403 and error(response) == "agreement_revoked"
    assert "consent withdrawn" in response.json()["error"]["message"]


# -- the owner's backend -----------------------------------------------------------------------


async def test_a_dead_backend_is_502_and_the_transfer_stays(space: LocalDataspace) -> None:
    dead = f"http://127.0.0.1:{free_port()}/api"
    pull = await start_pull(space, {"type": "http", "baseUrl": dead})
    response = await pull.get()
    assert response.status_code == 502 and error(response) == "backend_unavailable"
    record = await space["provider"].client.call("GET", f"/transfers/{pull.provider_id}")
    assert record["state"] == "STARTED"


async def test_a_slow_backend_is_504(space: LocalDataspace, owner: str) -> None:
    pull = await start_pull(
        space, {"type": "http", "baseUrl": f"{owner}/slow", "timeoutSeconds": 0.3}
    )
    response = await pull.get()
    assert response.status_code == 504 and error(response) == "backend_timeout"


async def test_a_failing_backend_is_502(space: LocalDataspace, owner: str) -> None:
    pull = await start_pull(space, {"type": "http", "baseUrl": f"{owner}/broken"})
    response = await pull.get()
    assert response.status_code == 502 and "500" in response.json()["error"]["message"]


async def test_a_misconfigured_source_is_502_not_500(
    space: LocalDataspace, levels: dict[str, Any]
) -> None:
    # The management API refuses such an address now; one stored before (or edited into the
    # database) must still be a clear 502 at read time.
    pull = await start_pull(space, levels)
    with space["provider"].connector.store.transaction() as tx:
        row = tx.dataset(tx.session.get(AgreementRow, pull.agreement_id).dataset_id)
        row.data_address = {"type": "ftp", "host": "x"}
        tx.add(row)
    response = await pull.get()
    assert response.status_code == 502 and error(response) == "source_misconfigured"


async def test_stored_transfer_rows_are_untouched_by_refusals(
    space: LocalDataspace, levels: dict[str, Any]
) -> None:
    pull = await start_pull(space, levels)
    for token in ("x", uuid.uuid4().hex, pull.token + "x"):
        assert (await pull.get(token=token)).status_code == 401
    with space["provider"].connector.store.transaction() as tx:
        row = tx.process(TransferRow, pull.provider_id)
        assert row.state == "STARTED" and tx.session.get(AgreementRow, pull.agreement_id)
