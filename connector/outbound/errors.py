"""What the outbound-request policy refuses, and how a fetch under it can fail.

OutboundRefused      400  the address may not be contacted: scheme, user info, a host
                          form resolvers read differently, or an address (after
                          resolution) that is loopback, private, link-local, metadata, ...
                          Sending again will not help: callers treat it as final.
OutboundUnresolved   502  the name does not resolve (now): may be retried
DeadlineExceeded     504  the whole exchange took longer than its deadline
ResponseTooLarge     502  the answer is larger than the cap for what was asked
RedirectRefused      502  the peer answered with a redirect, which is never followed
"""

from __future__ import annotations

from connector.errors import ConnectorError, PeerError


class OutboundRefused(ConnectorError):
    code = "outbound_address_refused"
    status = 400


class OutboundUnresolved(PeerError):
    code = "outbound_unresolved"


class DeadlineExceeded(PeerError):
    code = "outbound_deadline_exceeded"
    status = 504


class ResponseTooLarge(PeerError):
    code = "outbound_response_too_large"


class RedirectRefused(PeerError):
    code = "outbound_redirect_refused"
