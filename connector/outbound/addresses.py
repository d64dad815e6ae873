"""Which IP addresses a request on a peer's word may reach, decided on the address itself.

Everything that is not globally routable is refused: loopback, private (RFC 1918, unique
local), link-local, CGNAT, multicast, unspecified, reserved, documentation and benchmarking
ranges. IPv6 forms that carry an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) are judged by
that IPv4 address too, so `::ffff:10.0.0.1` is as private as `10.0.0.1`. Cloud metadata
endpoints are named separately: they are refused even where an allow-list or dev mode would
otherwise let an address through.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, ...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the forms carrying one."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_loopback(address: IPAddress) -> bool:
    inner = embedded_ipv4(address)
    return address.is_loopback or (inner is not None and inner.is_loopback)


def refusal(address: IPAddress) -> str | None:
    """Why `address` may not be contacted on a peer's word, or None if it is public."""
    inner = embedded_ipv4(address)
    # An IPv4-mapped address is that IPv4 address (its ::ffff:0:0/96 prefix counts as
    # "reserved"); the tunnelling forms are judged as themselves and as what they carry.
    mapped = isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None
    for candidate in (inner,) if mapped else (address, inner):
        if candidate is None:
            continue
        if candidate in METADATA:
            return "a cloud metadata address"
        if candidate.is_loopback:
            return "a loopback address"
        if candidate.is_unspecified:
            return "the unspecified address"
        if candidate.is_link_local:
            return "a link-local address"
        if candidate.is_multicast:
            return "a multicast address"
        if candidate.is_private:
            return "a private address"
        if candidate.is_reserved:
            return "a reserved address"
        if not candidate.is_global:
            return "not a globally routable address"
    return None
