"""The outbound policy's decisions, on URLs and on addresses (no network at all)."""

from __future__ import annotations

import ipaddress

import pytest

from connector.outbound import AllowList, OutboundPolicy, OutboundRefused, OutboundUnresolved
from tests.outbound.support import ScriptedResolver

pytestmark = pytest.mark.anyio

PRODUCTION = OutboundPolicy(dev_mode=False)
DEV = OutboundPolicy(dev_mode=True)

FORBIDDEN_EVERYWHERE = [
    "10.0.0.1",
    "172.16.5.4",
    "192.168.0.1",
    "169.254.169.254",  # metadata
    "169.254.1.1",  # link-local
    "100.64.0.1",  # CGNAT
    "100.100.100.200",  # metadata (Alibaba)
    "0.0.0.0",
    "224.0.0.251",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "fd00:ec2::254",  # metadata (AWS IPv6)
    "fc00::1",  # unique local
    "fe80::1",  # link-local
    "ff02::1",  # multicast
    "::",
    "::ffff:10.0.0.1",  # IPv4-mapped private
    "::ffff:169.254.169.254",  # IPv4-mapped metadata
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2001:db8::1",  # documentation
]
LOOPBACK = ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]
PUBLIC = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::ffff:93.184.215.14"]


@pytest.mark.parametrize("address", FORBIDDEN_EVERYWHERE)
@pytest.mark.parametrize("policy", [PRODUCTION, DEV], ids=["production", "dev"])
def test_non_public_addresses_are_refused(policy: OutboundPolicy, address: str) -> None:
    with pytest.raises(OutboundRefused) as caught:
        policy.check_address("partner.example", ipaddress.ip_address(address))
    assert caught.value.code == "outbound_address_refused"


@pytest.mark.parametrize("address", LOOPBACK)
def test_loopback_only_in_dev_mode(address: str) -> None:
    DEV.check_address("localhost", ipaddress.ip_address(address))
    with pytest.raises(OutboundRefused, match="loopback"):
        PRODUCTION.check_address("localhost", ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    PRODUCTION.check_address("partner.example", ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://partner.example/dsp",  # http outside dev mode
        "ftp://partner.example/x",
        "file:///etc/passwd",
        "https://user:pw@partner.example/dsp",
        "https://partner.example@10.0.0.1/dsp",
        "https:///nohost",
        "https://127.1/dsp",
        "https://2130706433/dsp",
        "https://0x7f000001/dsp",
        "https://017700000001/dsp",
        "https://10.0.0.1/dsp",
        "https://[::ffff:a9fe:a9fe]/latest",
        "https://partner.example:99999/dsp",
        "https://partner.example/a b",
    ],
)
def test_urls_refused_without_dns(url: str) -> None:
    with pytest.raises(OutboundRefused):
        PRODUCTION.check_url(url)


def test_dev_mode_allows_http_and_loopback_literals() -> None:
    target = DEV.check_url("http://127.0.0.1:8101/dsp/2025-1")
    assert (target.host, target.port, target.scheme) == ("127.0.0.1", 8101, "http")
    assert DEV.check_url("http://[::1]:8101/x").host == "::1"
    assert DEV.check_url("http://localhost:8101/x").host == "localhost"
    with pytest.raises(OutboundRefused):
        DEV.check_url("http://10.0.0.1/x")  # dev mode opens loopback, nothing else
    with pytest.raises(OutboundRefused, match="plain http"):
        DEV.check_url("http://partner.example/x")  # and plain http only to loopback


def test_names_pass_check_url_and_are_judged_after_resolution() -> None:
    target = PRODUCTION.check_url("https://Partner.Example./dsp")
    assert target.host == "partner.example" and target.literal is None and target.port == 443


async def test_every_answer_of_a_name_is_checked() -> None:
    resolver = ScriptedResolver(
        {"mixed.example": ["93.184.215.14", "10.0.0.1"], "ok.example": ["93.184.215.14"]}
    )
    policy = OutboundPolicy(resolver=resolver)
    assert [str(a) for a in await policy.addresses("ok.example", 443)] == ["93.184.215.14"]
    with pytest.raises(OutboundRefused, match="10.0.0.1 is a private address"):
        await policy.addresses("mixed.example", 443)


async def test_localhost_names_are_judged_by_their_addresses() -> None:
    resolver = ScriptedResolver({"localhost": ["127.0.0.1", "::1"]})
    with pytest.raises(OutboundRefused, match="loopback"):
        await OutboundPolicy(resolver=resolver).addresses("localhost", 443)
    assert len(await OutboundPolicy(dev_mode=True, resolver=resolver).addresses("localhost", 1))


async def test_an_unresolvable_name_is_not_a_refusal() -> None:
    policy = OutboundPolicy(resolver=ScriptedResolver({}))
    with pytest.raises(OutboundUnresolved):
        await policy.addresses("gone.example", 443)
    target = await policy.vet("https://gone.example/dsp")  # passes the door; connect decides
    assert target.host == "gone.example"


async def test_vet_refuses_a_name_that_resolves_to_a_private_address() -> None:
    policy = OutboundPolicy(resolver=ScriptedResolver({"inside.example": ["192.168.3.4"]}))
    with pytest.raises(OutboundRefused, match="private"):
        await policy.vet("https://inside.example/dsp")


async def test_the_allow_list_admits_internal_partners_by_name_or_network() -> None:
    resolver = ScriptedResolver(
        {
            "partner.internal": ["10.9.8.7"],
            "other.internal": ["10.20.1.2"],
            "stranger.internal": ["10.30.0.1"],
            "sneaky.internal": ["169.254.169.254"],
        }
    )
    allow = AllowList.parse(["partner.internal", "10.20.0.0/16", "sneaky.internal"])
    policy = OutboundPolicy(allow=allow, resolver=resolver)
    assert await policy.addresses("partner.internal", 443)
    assert await policy.addresses("other.internal", 443)
    with pytest.raises(OutboundRefused):
        await policy.addresses("stranger.internal", 443)
    with pytest.raises(OutboundRefused, match="metadata"):
        await policy.addresses("sneaky.internal", 443)  # metadata is never allowed
    policy.check_url("https://10.20.3.4/dsp")  # a literal inside an allowed network
    with pytest.raises(OutboundRefused):
        policy.check_url("http://10.20.3.4/dsp")  # but still https only


@pytest.mark.parametrize("entry", ["", "user@host", "127.1", "https://x.example/", "a b"])
def test_bad_allow_list_entries_are_configuration_errors(entry: str) -> None:
    with pytest.raises(ValueError):
        AllowList.parse([entry])
