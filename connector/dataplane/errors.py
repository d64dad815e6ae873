"""What can go wrong on the data plane, each with the status a consumer sees.

    TokenRejected        401  missing, expired, foreign or revoked token (WWW-Authenticate says why)
    AccessDenied         403  transfer not STARTED, agreement expired / used up / revoked
    BadDataRequest       400  a sub-path or query parameter the dataset does not allow
    RangeNotSatisfiable  416  a byte range outside the file
    BackendUnavailable   502  the owner's system is down or answered badly
    BackendTimeout       504  the owner's system did not answer in time
    SourceMisconfigured  502  the dataset's data address cannot be used (the owner's to fix)

Push transfers (`push.py`, `sinks.py`):

    PushAborted          400  consumer's sink: a pushed body arrived cut off (a suspension)
    BatchTooLarge        413  consumer's sink: a batch of live readings beyond the limit
    PushFailed           500  provider: a push kept failing; the transfer is terminated with it

None of them is a 500 for a consumer: whatever a consumer sends ends in one of these or in data.
"""

from __future__ import annotations

from connector.errors import ConnectorError, Forbidden, MessageError, PeerError, Unauthenticated


class TokenRejected(Unauthenticated):
    code = "invalid_token"

    @property
    def headers(self) -> dict[str, str]:
        # RFC 6750 §3: the error and a human-readable description, quotes kept out of it.
        description = self.message.replace('"', "'").replace("\\", "/")
        return {
            "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'
        }


class AccessDenied(Forbidden):
    code = "access_denied"


class BadDataRequest(MessageError):
    code = "bad_data_request"


class RangeNotSatisfiable(ConnectorError):
    code = "range_not_satisfiable"
    status = 416

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message)
        self.size = size

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Range": f"bytes */{self.size}"}


class BackendUnavailable(PeerError):
    code = "backend_unavailable"
    status = 502


class BackendTimeout(PeerError):
    code = "backend_timeout"
    status = 504


class SourceMisconfigured(PeerError):
    code = "source_misconfigured"
    status = 502


class PushAborted(MessageError):
    """Consumer side: a push that arrived cut off (the provider stopped it mid-way)."""

    code = "push_aborted"


class BatchTooLarge(MessageError):
    code = "batch_too_large"
    status = 413


class PushFailed(ConnectorError):
    """Provider side: a push that kept failing; the transfer is terminated with this reason."""

    code = "push_failed"
