"""The one outbound-request policy for every request made on a peer's word (DESIGN.md §2,
"Two seams"): see `policy` for the rules, `transport` for pinned connections, `reading` for
deadlines and size caps, and docs/outbound.md for the operator's view."""

from connector.outbound.errors import (
    DeadlineExceeded,
    OutboundRefused,
    OutboundUnresolved,
    RedirectRefused,
    ResponseTooLarge,
)
from connector.outbound.policy import AllowList, OutboundPolicy, Target
from connector.outbound.reading import Fetched, fetch, read_capped
from connector.outbound.resolver import Resolver, SystemResolver
from connector.outbound.transport import PeerSession, PinnedBackend, PinnedTransport, pinned_client

__all__ = [
    "AllowList",
    "DeadlineExceeded",
    "Fetched",
    "OutboundPolicy",
    "OutboundRefused",
    "OutboundUnresolved",
    "PeerSession",
    "PinnedBackend",
    "PinnedTransport",
    "RedirectRefused",
    "ResponseTooLarge",
    "Resolver",
    "SystemResolver",
    "Target",
    "fetch",
    "pinned_client",
    "read_capped",
]
