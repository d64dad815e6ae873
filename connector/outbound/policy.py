"""The outbound-request policy: where the connector may send a request on a peer's word.

Every address a peer gives us (a callback, a push sink, a pull endpoint, a DID document's
service, a status list) passes here twice: `check_url` when it is given (scheme, user info,
host form, and the address itself when it is an IP literal) and `addresses` when a connection
is opened (the name resolved once, every answer checked, and only checked answers dialled:
see `transport.py`). The rules:

* https only; in dev mode, loopback addresses are allowed too, and plain http to them
  (`localhost`, 127.0.0.0/8, ::1) — the demo and the tests run that way;
* no user info, no numeric host spellings other than the canonical ones (`127.1`,
  `2130706433` and `0x7f000001` mean different things to different parsers);
* after resolution, every address of the name must be public (`addresses.refusal`) unless the
  operator allow-listed the host name or a network containing it; metadata addresses never.

Deadlines and size caps live with the fetch (`reading.py`); redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from connector.outbound.addresses import METADATA, IPAddress, embedded_ipv4, is_loopback, refusal
from connector.outbound.errors import OutboundRefused, OutboundUnresolved
from connector.outbound.resolver import Resolver, SystemResolver

DEFAULT_DEADLINE_SECONDS = 30.0
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Target:
    """A URL that passed `check_url`."""

    url: str
    scheme: str
    host: str  # lower case, without brackets or a trailing dot
    port: int
    literal: IPAddress | None  # the host, when it is an IP address


@dataclass(frozen=True)
class AllowList:
    """Internal partners the operator lets us reach at non-public addresses."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Host names and CIDR networks (`partner.internal`, `10.20.0.0/16`, `fd12::/48`);
        raises ValueError on anything else."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for entry in entries:
            text = entry.strip().lower().rstrip(".")
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
                continue
            except ValueError:
                pass
            if not text or any(c in text for c in "/:@ ") or _numeric_spelling(text):
                raise ValueError(f"allow-list entry {entry!r} is neither a host name nor a CIDR")
            hosts.add(text)
        return cls(frozenset(hosts), tuple(networks))

    def admits(self, host: str, address: IPAddress) -> bool:
        if host in self.hosts:
            return True
        candidates = [address, embedded_ipv4(address)]
        return any(
            c is not None and c.version == n.version and c in n
            for c in candidates
            for n in self.networks
        )


@dataclass(frozen=True)
class OutboundPolicy:
    dev_mode: bool = False
    allow: AllowList = field(default_factory=AllowList)
    resolver: Resolver = field(default_factory=SystemResolver, compare=False)
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    # -- when an address is given ---------------------------------------------------------------

    def check_url(self, url: str, *, what: str = "the address") -> Target:
        """Parse `url` and apply every rule that needs no DNS; raises OutboundRefused."""

        def refuse(reason: str) -> OutboundRefused:
            return OutboundRefused(f"{what} {url[:200]!r} is refused: {reason}")

        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise refuse(f"not a usable URL ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise refuse("only https is allowed")
        if "@" in parts.netloc:
            raise refuse("it carries user info")
        if any(c.isspace() or ord(c) < 0x20 for c in url):
            raise refuse("it contains white space or control characters")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise refuse("it has no host")
        literal: IPAddress | None = None
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            if _numeric_spelling(host):
                raise refuse("a numeric host must be a canonical IP address") from None
        if scheme == "http" and not (
            self.dev_mode
            and (host == "localhost" or (literal is not None and is_loopback(literal)))
        ):
            raise refuse("plain http is allowed for loopback hosts in dev mode only; use https")
        target = Target(url, scheme, host, port or (443 if scheme == "https" else 80), literal)
        if literal is not None:
            self.check_address(target.host, literal, what=what)
        return target

    # -- when a connection is opened ------------------------------------------------------------

    def check_address(self, host: str, address: IPAddress, *, what: str = "the address") -> None:
        """Raise OutboundRefused unless `address` (of `host`) may be contacted."""
        inner = embedded_ipv4(address)
        if address in METADATA or (inner is not None and inner in METADATA):
            reason: str | None = "a cloud metadata address"
        elif self.dev_mode and is_loopback(address):
            reason = None
        elif self.allow.admits(host, address):
            reason = None
        else:
            reason = refusal(address)
        if reason is not None:
            raise OutboundRefused(
                f"{what} {host!r} is refused: {address} is {reason}"
                + ("" if self.dev_mode or not is_loopback(address) else " (dev mode only)")
            )

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """Resolve `host` once and check every answer: the addresses that may be dialled.

        One refused answer refuses the name: a name that resolves to a public and a private
        address is either misconfigured or an attack, and picking the public one would make
        the outcome depend on which address a client tries first.
        """
        host = host.lower().rstrip(".")
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            self.check_address(host, literal)
            return [literal]
        if _numeric_spelling(host):
            raise OutboundRefused(f"{host!r} is refused: not a canonical IP address")
        answers = await self.resolver.resolve(host, port)
        if not answers:
            raise OutboundUnresolved(f"{host} has no addresses")
        checked = [ipaddress.ip_address(a) for a in answers]
        for address in checked:
            self.check_address(host, address)
        return checked

    async def vet(self, url: str, *, what: str = "the address") -> Target:
        """`check_url`, then resolve and check a name now: for an address a peer gives us, so
        a forbidden one is refused while the peer is still on the line. A name that does not
        resolve now passes (the connection decides later); a refused one does not."""
        target = self.check_url(url, what=what)
        if target.literal is None:
            try:
                await self.addresses(target.host, target.port)
            except OutboundUnresolved:
                pass
            except OutboundRefused as exc:
                raise OutboundRefused(f"{what} {url[:200]!r}: {exc}") from exc
        return target


def _numeric_spelling(host: str) -> bool:
    """True for hosts that inet_aton reads as an IPv4 address (`127.1`, `0x7f.1`, `2130706433`)
    and for names whose last label is all digits, which no real name has."""
    try:
        socket.inet_aton(host)
        return True
    except (OSError, ValueError):
        pass
    last = host.rsplit(".", 1)[-1]
    return last.isdigit() or last.startswith("0x")
