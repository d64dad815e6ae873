"""Real `tsunagu serve` processes on loopback that a test can SIGKILL and start again.

A `Cluster` is an authority, a provider and a consumer. On SQLite each participant is one
process on its own database file; on PostgreSQL each participant may be several processes
sharing one database (its own schema), behind a round-robin proxy (`proxy.py`) that holds the
participant's configured address, so every request of a peer or an operator may land on any
of them.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from connector.clock import system_clock
from connector.identity.authority import Authority
from connector.participant import init_participant
from connector.private_files import write_private
from connector.serving import BackgroundServer, free_port
from connector.settings import Settings
from connector.store.database import normalise_url
from tests.crash.proxy import RoundRobinProxy, serve_proxy

TSUNAGU = Path(sys.executable).with_name("tsunagu")
CRASH_SEED = "TSUNAGU_CRASH_SEED"  # the run's seed; each start draws from its own (see Node)


def tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a log file, for a failure message."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"({path.name}: {exc.strerror})"
    return "\n".join(text.splitlines()[-lines:])


@dataclass(eq=False)
class Node:
    """One `tsunagu serve` process of a participant, on its own port."""

    label: str
    directory: Path
    port: int
    log: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, f"{self.label} is running"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(TSUNAGU), "serve", str(self.directory), "--port", str(self.port)]
                + ["--log-level", "warning"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self._env_for_this_start(),
            )
        self.starts += 1

    def _env_for_this_start(self) -> dict[str, str]:
        """Each start draws its own kill points from the run's seed: with the same seed every
        time, a restarted process would die at the very draw its predecessor died at, on the
        same re-sent message, again and again (seen: a consumer started 21 times, no flow
        moving). Still repeatable: the draws follow from (seed, process, start)."""
        seed = self.env.get(CRASH_SEED)
        if not seed:
            return self.env
        derived = random.Random(f"{seed}/{self.label}/{self.starts}").randrange(1 << 30)
        return {**self.env, CRASH_SEED: str(derived)}

    def kill(self) -> None:
        """SIGKILL: no shutdown, no lease handed back, a transaction cut wherever it was."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    async def ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"{self.label} exited; see {self.log}")
                try:
                    answer = await http.get(self.base + "/.well-known/dspace-version")
                    if answer.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.label} did not come up in {timeout:.0f}s; see {self.log}")


@dataclass
class Side:
    """One participant: its settings, its processes, and the proxy in front when several."""

    settings: Settings
    nodes: list[Node]
    proxy: RoundRobinProxy | None = None
    server: BackgroundServer | None = None

    @property
    def did(self) -> str:
        return self.settings.did

    @property
    def base(self) -> str:
        """Where peers and the operator reach the participant (the proxy, when there is one)."""
        return self.settings.public_url


@dataclass
class Cluster:
    root: Path
    postgres: str | None = None  # a PostgreSQL URL: each participant gets its own schema
    processes: int = 1  # per participant (more than one needs PostgreSQL)
    sides: dict[str, Side] = field(default_factory=dict)
    _authority: subprocess.Popen[bytes] | None = None
    _schemas: list[str] = field(default_factory=list)

    @property
    def nodes(self) -> list[Node]:
        return [n for s in self.sides.values() for n in s.nodes]

    def __getitem__(self, key: str) -> Side:
        return self.sides[key]

    async def start(self, names: tuple[str, ...] = ("provider", "consumer")) -> None:
        if self.processes > 1 and not self.postgres:
            raise ValueError("several processes of one participant need PostgreSQL")
        authority = Authority.init(
            self.root / "authority", name="crash authority", port=free_port()
        )
        with (self.root / "authority.log").open("ab") as out:
            self._authority = subprocess.Popen(
                [str(TSUNAGU), "authority", "serve", str(self.root / "authority"), "--dev"],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        await _wait_http(authority.base_url + "/.well-known/did.json")
        for name in names:
            # Ports below the ephemeral range (free_port): a killed process restarts on its
            # own port, which no outgoing connection can take while it is down.
            public = free_port()
            settings = init_participant(
                self.root / name,
                name=name,
                port=public,
                dev_mode=True,
                trusted_authorities=(authority.did,),
                database_url=self._database(name),
            )
            write_private(
                settings.credential_path,
                authority.issue(
                    subject=settings.did,
                    legal_name=name,
                    role="municipality",
                    municipality_code=None,
                    memberships=[],
                    valid_days=1,
                    now=system_clock(),
                ),
            )
            env = {k: v for k, v in os.environ.items() if k != "TSUNAGU_DATABASE_URL"}
            ports = (
                [public] if self.processes == 1 else [free_port() for _ in range(self.processes)]
            )
            nodes = [
                Node(f"{name}#{i}", settings.directory, port, self.root / f"{name}-{i}.log", env)
                for i, port in enumerate(ports)
            ]
            side = Side(settings, nodes)
            self.sides[name] = side
            for node in nodes:  # one after the other: the first one migrates the database
                node.start()
                await node.ready()
            if self.processes > 1:
                side.proxy, side.server = await serve_proxy([n.base for n in nodes], public)

    def log_tails(self, lines: int = 30) -> str:
        """The end of the authority's and every node's log (the node's exits, the errors it
        printed, "cannot listen on ..."): what a failure message needs to be diagnosed."""
        parts = [f"--- authority.log ---\n{tail(self.root / 'authority.log', lines)}"]
        for node in self.nodes:
            state = "never started"
            if node.proc is not None:
                code = node.proc.poll()
                state = "running" if code is None else f"exited {code}"
            parts.append(
                f"--- {node.log.name} ({node.label} on {node.port}, started {node.starts} "
                f"times, {state}) ---\n{tail(node.log, lines)}"
            )
        return "\n".join(parts)

    def _database(self, name: str) -> str | None:
        if not self.postgres:
            return None
        schema = f"crash_{name}_{uuid.uuid4().hex[:10]}"
        with _admin(self.postgres) as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        self._schemas.append(schema)
        sep = "&" if "?" in self.postgres else "?"
        return f"{self.postgres}{sep}options=-csearch_path%3D{schema}"

    async def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        for side in self.sides.values():
            if side.server is not None:
                await side.server.stop()
        if self._authority is not None:
            self._authority.terminate()
            self._authority.wait(timeout=10)
        if self.postgres and self._schemas:
            with _admin(self.postgres) as conn:
                for schema in self._schemas:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


class _admin:
    """A short-lived autocommit connection for creating and dropping schemas."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(normalise_url(url))

    def __enter__(self) -> Any:
        self.conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self.conn

    def __exit__(self, *_: object) -> None:
        self.conn.close()
        self.engine.dispose()


async def _wait_http(url: str, ok: Callable[[int], bool] = lambda s: s == 200) -> None:
    async with httpx.AsyncClient(timeout=2.0) as http:
        for _ in range(600):
            try:
                if ok((await http.get(url)).status_code):
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")
