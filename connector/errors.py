"""The connector's error tree.

    ConnectorError                 root; `code` is snake_case, `status` an HTTP hint
     +-- MessageError              a peer's message is malformed or the wrong type (400)
     +-- InvalidTransition         the state machine does not allow this message now (400)
     +-- NotFound                  unknown process or resource - also used for "not yours" (404)
     +-- Unauthenticated           a token or credential was rejected (401 / 404 on processes)
     +-- Forbidden                 authenticated, but not allowed (403)
     +-- Conflict                  the request clashes with current state (409)
     +-- PeerError                 the peer could not be reached or answered badly (502)
     +-- StoreError                the database failed (503)
     +-- ConfigError               local configuration is missing or wrong

Mapping to HTTP lives in `connector.api.errors` only.
"""

from __future__ import annotations


class ConnectorError(Exception):
    code = "connector_error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class MessageError(ConnectorError):
    code = "invalid_message"
    status = 400


class InvalidTransition(ConnectorError):
    code = "invalid_transition"
    status = 400


class NotFound(ConnectorError):
    code = "not_found"
    status = 404


class Unauthenticated(ConnectorError):
    code = "unauthenticated"
    status = 401


class Forbidden(ConnectorError):
    code = "forbidden"
    status = 403


class Conflict(ConnectorError):
    code = "conflict"
    status = 409


class DuplicateMessage(ConnectorError):
    """A peer sent again the message that brought the process to where it is (its sender
    crashed before recording our acknowledgement, or the acknowledgement was lost). Nothing
    changes, and the protocol API acknowledges it like the first time (200)."""

    code = "duplicate_message"
    status = 200


class PeerError(ConnectorError):
    code = "peer_unreachable"
    status = 502


class StoreError(ConnectorError):
    code = "store_unavailable"
    status = 503


class ConfigError(ConnectorError):
    code = "config_error"
    status = 500
