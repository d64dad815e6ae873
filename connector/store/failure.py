"""What a caller hears when the database fails under a request.

The driver's message names tables, columns and the SQL it ran: that is for the operator's log,
not for a peer or an API client, who hears only that the store is unavailable (503, retry)."""

from __future__ import annotations

import logging

from connector.errors import StoreError

log = logging.getLogger("tsunagu.store")


def database_failure(exc: BaseException) -> StoreError:
    """Log the database's own words; return the error to raise (`raise ... from exc`)."""
    log.error("database error: %s: %s", exc.__class__.__name__, exc)
    return StoreError(
        f"the database is unavailable ({exc.__class__.__name__}); the connector's log has "
        "the details"
    )
