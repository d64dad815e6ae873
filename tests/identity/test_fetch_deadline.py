"""Identity fetches end at one total deadline and stop reading at their cap, against real
servers on loopback (issue 15, defect 5: the per-read timeout restarted on every byte)."""

from __future__ import annotations

import anyio
import pytest

from connector.clock import ManualClock
from connector.identity.credentials import CredentialVerifier
from connector.identity.did import DidResolver, did_web
from connector.identity.errors import IdentityError
from connector.outbound import OutboundPolicy, pinned_client
from tests.outbound.support import NeverDial, ScriptedResolver, flood, raw_server, trickle

pytestmark = pytest.mark.anyio


def policy() -> OutboundPolicy:
    return OutboundPolicy(dev_mode=True, resolver=ScriptedResolver({"localhost": ["127.0.0.1"]}))


async def test_a_trickled_did_document_ends_at_the_deadline(clock: ManualClock) -> None:
    async with raw_server(trickle) as (port, heads), pinned_client(policy()) as http:
        resolver = DidResolver(http, clock, dev_mode=True, timeout_seconds=0.5, policy=policy())
        # One byte every 50 ms would keep a per-read timeout alive for ever; the guard turns
        # a missing total deadline into a failure instead of a hung test.
        with anyio.fail_after(20), pytest.raises(IdentityError) as caught:
            await resolver.resolve(did_web("localhost", port))
    assert caught.value.code == "did_resolution_failed"
    assert "longer than 0.5 s" in caught.value.message
    assert len(heads) == 1


async def test_an_endless_did_document_stops_at_the_cap(clock: ManualClock) -> None:
    async with raw_server(flood(4 * 1024 * 1024)) as (port, _), pinned_client(policy()) as http:
        resolver = DidResolver(http, clock, dev_mode=True, policy=policy())
        with pytest.raises(IdentityError) as caught:
            await resolver.resolve(did_web("localhost", port))
    assert caught.value.code == "did_resolution_failed"
    assert "more than" in caught.value.message


async def test_a_trickled_status_list_ends_at_the_deadline(clock: ManualClock) -> None:
    async with raw_server(trickle) as (port, _), pinned_client(policy()) as http:
        dids = DidResolver(http, clock, dev_mode=True, policy=policy())
        verifier = CredentialVerifier(
            dids, http, clock, [], dev_mode=True, timeout_seconds=0.5, policy=policy()
        )
        with anyio.fail_after(20), pytest.raises(IdentityError) as caught:
            await verifier._fetch_status_list(
                f"http://localhost:{port}/status/1", did_web("localhost", port)
            )
    assert caught.value.code == "status_list_unavailable"


async def test_a_did_host_resolving_to_a_private_address_is_refused_undialled(
    clock: ManualClock,
) -> None:
    strict = OutboundPolicy(resolver=ScriptedResolver({"city-a.example": ["192.168.10.2"]}))
    async with pinned_client(strict, dial=NeverDial()) as http:
        with pytest.raises(IdentityError) as caught:
            await DidResolver(http, clock, policy=strict).resolve("did:web:city-a.example")
    assert caught.value.code == "outbound_address_refused"
