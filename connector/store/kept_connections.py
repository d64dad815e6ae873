"""PostgreSQL connections kept out of the pool between the replay cache's inserts.

Every protocol request remembers its token's ID (`Store.remember`): one INSERT in autocommit.
Through an engine, each one also paid a pool checkout and return, with their events and the
isolation level set and reset: 275 µs of CPU against 57 µs for the statement on a connection
at hand (one thread, loopback). So the replay cache takes connections from the pool once,
switches them to autocommit, and keeps them: a free list, since requests run in several worker
threads at once. The statement goes to the driver's cursor.

A kept connection idle longer than the pool's ping interval is pinged before use, as the
pool would (database.IDLE_PING_SECONDS); one that fails, in its ping or in a statement, is
invalidated (dropped, the pool opens a fresh one), never kept.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Engine

from connector.store.database import IDLE_PING_SECONDS

__all__ = ["KeptConnections"]


class KeptConnections:
    def __init__(self, engine: Engine, *, idle_ping_seconds: float = IDLE_PING_SECONDS) -> None:
        self.engine = engine
        self.idle_ping_seconds = idle_ping_seconds
        self._free: list[tuple[Any, float]] = []  # (pooled connection, when it was last used)
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def one(self) -> Iterator[Any]:
        """A pooled DB-API connection in autocommit, kept again afterwards unless it failed."""
        connection = self._take()
        try:
            yield connection
        except BaseException:
            connection.invalidate()
            raise
        with self._lock:
            if not self._closed:
                self._free.append((connection, time.monotonic()))
                return
        self._give_back(connection)

    def close(self) -> None:
        """Every kept connection back to the pool; one in use goes back when its use ends."""
        with self._lock:
            self._closed = True
            free, self._free = self._free, []
        for connection, _used in free:
            self._give_back(connection)

    def __len__(self) -> int:
        with self._lock:
            return len(self._free)

    def _take(self) -> Any:
        while True:
            with self._lock:
                kept = self._free.pop() if self._free else None
            if kept is None:
                connection: Any = self.engine.raw_connection()  # pinged if it sat idle
                connection.driver_connection.autocommit = True
                return connection
            connection, used = kept
            if time.monotonic() - used < self.idle_ping_seconds:
                return connection
            try:
                self.engine.dialect.do_ping(connection.dbapi_connection)
            except self.engine.dialect.loaded_dbapi.Error:
                connection.invalidate()  # the server restarted, a firewall dropped it: next
                continue
            return connection

    @staticmethod
    def _give_back(connection: Any) -> None:
        try:
            connection.driver_connection.autocommit = False  # as the pool lent it out
        finally:
            connection.close()
