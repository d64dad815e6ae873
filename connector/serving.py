"""Running ASGI apps on loopback ports with uvicorn, inside an existing event loop."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import functools
import random
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
_PICK = random.SystemRandom()
# The ports free_port handed out lately in this process: two servers started in one test (or
# one whose port was picked before another's server listened) must not be given the same one.
_HANDED_OUT: collections.deque[int] = collections.deque(maxlen=256)


@functools.cache
def _ephemeral_low() -> int:
    try:
        return int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now, drawn below the kernel's ephemeral range. A port the kernel hands out
    (bind to 0) lies inside that range, and until our server listens there any outgoing
    connection on the machine (other connectors', other test processes') may take it as its
    source port: the server then fails with "address already in use"."""
    low = _ephemeral_low()
    for _ in range(200):
        port = _PICK.randrange(10000, max(10001, low))
        if port in _HANDED_OUT:  # free now, but maybe not yet listened on by whoever took it
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError as exc:
                if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                    raise
                continue
        _HANDED_OUT.append(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # nothing free down there
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# The event loop of a served process (`tsunagu serve`, `tsunagu authority serve`): uvloop's
# (libuv) costs less CPU per request than asyncio's own, in its transports and its scheduling
# (benchmarks/negotiation.py, three interleaved runs: the provider's CPU per signed message
# -10 to -18 %, per bare request -16 to -34 %). Named, not left to uvicorn's "auto", so that a
# missing install fails at start instead of serving slower. uvloop has no Windows build.
SERVER_LOOP = "asyncio" if sys.platform == "win32" else "uvloop"


# Open streams (a console's live dashboard, a consumer's live feed) end only when their reader
# goes away; at shutdown they get this long to finish, then they are cut.
GRACE_SECONDS = 3


class _EmbeddedServer(uvicorn.Server):
    """A server inside a program that owns its signals (the demo, tests, benchmarks): Ctrl-C
    is the program's to handle. uvicorn's own handlers, installed and restored by each of
    several servers in turn, would stop one server per signal and lose the rest."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class BackgroundServer:
    """One uvicorn server as an asyncio task; `start()` returns once it accepts connections.

    It listens on `listener` when given (a socket `reserve_port` bound: nobody can take the
    port between its choice and the server's start), else binds (host, port) itself when it
    starts. Either way a port someone else holds is an OSError from `start()`, never the
    SystemExit uvicorn ends with when its own bind fails: in a test run that SystemExit broke
    every later fixture of the worker, not just the one test."""

    def __init__(
        self,
        app: Any,
        *,
        host: str,
        port: int,
        log_level: str = "warning",
        listener: socket.socket | None = None,
        **options: Any,
    ) -> None:
        """`options`: more uvicorn settings (e.g. `connector.tls.server_options`)."""
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=log_level,
            lifespan="on",
            access_log=False,
            timeout_graceful_shutdown=GRACE_SECONDS,
            **options,
        )
        self.server = _EmbeddedServer(config)
        self.listener = listener
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.listener is None:
            self.listener = bind_listener(self.server.config.host, self.server.config.port)
        self._task = asyncio.create_task(self.server.serve(sockets=[self.listener]))
        while not self.server.started:
            if self._task.done():
                try:
                    self._task.result()  # raises what made it fail
                except SystemExit as exc:  # uvicorn's way of saying its startup failed
                    raise RuntimeError(f"the server did not start (exit {exc.code})") from None
                raise RuntimeError("the server stopped while starting")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.listener is not None:
            self.listener.close()
            self.listener = None  # a start after a stop binds the port afresh


def reserve_port(host: str = "127.0.0.1") -> socket.socket:
    """A listening socket on a port `free_port` picked, held from that moment: for a server
    whose port must be known (written into settings, a DID) before it starts."""
    for _ in range(50):
        try:
            return bind_listener(host, free_port(host))
        except OSError as exc:  # taken between the check and the bind, by another process
            if exc.errno != errno.EADDRINUSE:
                raise
    raise OSError(errno.EADDRINUSE, "no free port found to listen on")


def bind_listener(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port), as uvicorn would make it; OSError when the port is
    taken. Binding before anything is printed lets `serve` refuse a taken port plainly.

    The protocol is named: asyncio turns Nagle's algorithm off only on sockets whose `proto`
    says TCP, and a socket made with proto 0 passes that on to every accepted connection.
    Without it each answer written in two parts (head, then body) on a kept-alive connection
    waited ~40 ms for the peer's delayed ACK: 22 requests/s where 1,400 were possible."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except BaseException:  # OSError, or OverflowError for a port past 65535
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def port_in_use(host: str, port: int) -> bool:
    """Whether something listens on (host, port) already (other bind errors are not ours to
    judge here: a privileged port, an address not on this machine)."""
    try:
        bind_listener(host, port).close()
    except OSError as exc:
        return exc.errno == errno.EADDRINUSE
    return False
