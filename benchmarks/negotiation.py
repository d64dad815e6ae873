"""Negotiation throughput and latency between two connector processes on loopback.

Two `tsunagu serve` processes (provider A, consumer C) and an authority run on this machine.
Printed, all from one run:

* baseline: how many signed protocol messages per second one connector accepts when each one
  is a single state commit (initial ContractRequestMessages for an offer that waits for an
  operator, so nothing else happens);
* N complete negotiations (request -> FINALIZED, four protocol messages and their callbacks
  each), each followed by a pull transfer start (-> STARTED), with 5 and with 8 in flight at
  once: negotiations per second, the ratio to the baseline, and p50/p95 latency of a
  negotiation (taken from the consumer's own event timestamps, so polling granularity does not
  inflate it). With more in flight, throughput rises a little and latency is mostly queueing;
* the same latency one negotiation at a time;
* how long the connector pair takes to finish the load's own work (the receipts owed for its
  last exchanges, a witness request), and its idle CPU after that (event-driven runners
  should cost ~nothing);
* for the baseline and the loaded negotiations, the CPU each part spent per message (the
  client, provider, consumer, authority and the PostgreSQL server, all on this machine) and
  the most this machine allows at that cost: its cores for all parts together, one core per
  process for each part (so the one consumer bounds N providers). A ratio target above that
  bound cannot be met on this machine at that cost, only by making the parts cheaper.

With TSUNAGU_TEST_DATABASE_URL set, the same figures are printed for PostgreSQL as well
(`--postgres` insists on it), and with `--processes N` once more with N provider processes on
the one database behind a round-robin proxy. Each database also prints where one signed
message's time goes (stage by stage, timed in-process on the provider's database) and a bare
endpoint's rate with the same client; a summary gives PostgreSQL / SQLite and N / 1 ratios.

    python benchmarks/negotiation.py [--quick] [--postgres] [--processes 2]
                                     [--negotiations 200] [--baseline 600] [--concurrency 5,8]
                                     [--unloaded 30] [--breakdown 300]
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as a script, this folder comes first on sys.path, and benchmarks/catalog.py would stand
# in for the catalog package: leave the folder off.
_sys.path[:] = [
    p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).parent.resolve()
]

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import create_engine, text

from connector.api.client import ManagementClient
from connector.clock import system_clock
from connector.identity.authority import Authority
from connector.identity.keys import KeyRing
from connector.identity.tokens import issue_id_token
from connector.participant import init_participant
from connector.serving import SERVER_LOOP, free_port
from connector.settings import Settings
from connector.store.database import build_engine, normalise_url
from connector.store.store import Store
from connector.store.tables import NegotiationRow

CONTEXT = ["https://w3id.org/dspace/2025/1/context.jsonld"]
DATASET = "urn:bench:dataset"
OPEN = {"@type": "Offer", "@id": "urn:bench:open", "permission": [{"action": "use"}]}
PARKED = {"@type": "Offer", "@id": "urn:bench:parked", "permission": [{"action": "use"}]}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    """The PostgreSQL server's processes on this machine (its backends do the database's share
    of each message's work, on the same cores)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue  # gone meanwhile
    return pids


class CpuMeter:
    """CPU seconds spent by each part of a run while it is measured: this process (the client
    that signs and sends), the provider and consumer connectors, and the PostgreSQL server.
    Their sum per message against the machine's cores is the most any software could get
    from this machine: a ratio target above it cannot be met here by any change to tsunagu."""

    def __init__(
        self,
        pair: Pair,
        provider_pids: list[int],
        consumer_pids: list[int],
        *,
        on_postgres: bool,
    ) -> None:
        self.parts: dict[str, Callable[[], dict[int, float]]] = {
            # the benchmark's own process: with several providers it also runs their proxy
            "client" if pair.proxy is None else "client + proxy": lambda: {0: time.process_time()},
            "provider": lambda: _cpu_of(provider_pids),
            "consumer": lambda: _cpu_of(consumer_pids),
            "authority": lambda: _cpu_of([p.pid for p in pair.processes[:1]]),
        }
        if on_postgres:  # every server process on this machine: keep the machine to yourself
            self.parts["PostgreSQL"] = lambda: _cpu_of(postgres_pids())
        # Processes of each part: one process runs on one core at a time (one event loop; its
        # worker threads share one interpreter lock), so a part in n processes is bounded at
        # n cores. The database server's many backends are not bounded so.
        counts = (1, len(provider_pids), len(consumer_pids), 1)
        self.processes = dict(zip(list(self.parts)[:4], counts, strict=True))

    def ceiling(self, spent: dict[str, float], units: int) -> float:
        """The most units per second this machine allows at the CPU they cost: its cores for
        all parts together, and one core per process for each part."""
        total = sum(spent.values())
        bounds = [(os.cpu_count() or 1) * units / total if total else float("inf")]
        bounds += [n * units / spent[part] for part, n in self.processes.items() if spent[part]]
        return min(bounds)

    def line(self, spent: dict[str, float], units: int, what: str) -> str:
        """CPU ms per unit by part, and the rate the machine allows at that cost."""
        parts = ", ".join(f"{name} {cpu / units * 1000:.2f}" for name, cpu in spent.items() if cpu)
        busiest = max(self.processes, key=lambda part: spent[part] / self.processes[part])
        n = self.processes[busiest]
        return (
            f"  CPU ms per {what}: {parts}; total {sum(spent.values()) / units * 1000:.2f}\n"
            f"    -> at most {self.ceiling(spent, units):.0f}/s here ({os.cpu_count()} cores; "
            f"the busiest part, {busiest}, runs in {n} process{'es' if n > 1 else ''})"
        )

    def start(self) -> dict[str, dict[int, float]]:
        return {name: read() for name, read in self.parts.items()}

    def spent(self, since: dict[str, dict[int, float]]) -> dict[str, float]:
        out = {}
        for name, read in self.parts.items():
            now, before = read(), since[name]
            # a process that started meanwhile (a new database backend) counts from zero
            out[name] = sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())
        return out


def _cpu_of(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            out[pid] = proc_cpu_seconds(pid)
        except OSError:
            continue
    return out


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(1200):  # 60 s: a loaded machine (CI, shared runners) starts slowly
            try:
                if (await http.get(url + "/.well-known/dspace-version")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


class Pair:
    """Authority + provider + consumer, each in its own process."""

    def __init__(self, root: Path, database_url_for: Any, provider_processes: int = 1) -> None:
        self.root = root
        self.database_url_for = database_url_for
        self.provider_processes = provider_processes  # > 1: behind a round-robin proxy
        self.processes: list[subprocess.Popen[bytes]] = []
        self.connector_pids: list[int] = []
        self.provider_pids: list[int] = []
        self.proxy: Any = None

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        exe = Path(sys.executable).with_name("tsunagu")
        proc = subprocess.Popen(
            [str(exe), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.processes.append(proc)
        return proc

    async def start(self) -> tuple[Settings, Settings]:
        authority = Authority.init(
            self.root / "authority", name="bench authority", port=free_port()
        )
        self.spawn("authority", "serve", str(self.root / "authority"), "--dev")
        await wait_ready_did(authority.base_url)
        settings = []
        for key in ("provider", "consumer"):
            s = init_participant(
                self.root / key,
                name=key,
                port=free_port(),
                dev_mode=True,
                trusted_authorities=(authority.did,),
                database_url=self.database_url_for(key),
            )
            s.credential_path.write_text(
                authority.issue(
                    subject=s.did,
                    legal_name=key,
                    role="municipality",
                    municipality_code=None,
                    memberships=[],
                    valid_days=1,
                    now=system_clock(),
                )
            )
            settings.append(s)
            if key == "provider" and self.provider_processes > 1:
                await self._several(s, self.provider_processes)
                continue
            proc = self.spawn("serve", str(s.directory), "--log-level", "warning")
            self.connector_pids.append(proc.pid)
            if key == "provider":
                self.provider_pids.append(proc.pid)
        for s in settings:
            await wait_ready(s.public_url)
        return settings[0], settings[1]

    async def _several(self, s: Settings, n: int) -> None:
        """`n` processes of one participant on its database, behind a round-robin proxy on
        its public port (docs/deployment.md)."""
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.crash.proxy import serve_proxy

        ports = [free_port() for _ in range(n)]
        for port in ports:  # one after the other: the first one migrates the database
            proc = self.spawn(
                "serve", str(s.directory), "--port", str(port), "--log-level", "warning"
            )
            self.connector_pids.append(proc.pid)
            self.provider_pids.append(proc.pid)
            await wait_ready(f"http://127.0.0.1:{port}")
        _proxy, self.proxy = await serve_proxy([f"http://127.0.0.1:{p}" for p in ports], s.port)

    def stop(self) -> None:
        for proc in self.processes:
            proc.terminate()
        for proc in self.processes:
            proc.wait(timeout=10)

    async def aclose(self) -> None:
        if self.proxy is not None:
            await self.proxy.stop()


async def wait_ready_did(base_url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            try:
                if (await http.get(base_url + "/.well-known/did.json")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("authority did not come up")


def signed_requests(provider: Settings, consumer: Settings, count: int) -> list[tuple[bytes, str]]:
    """`count` initial requests, each with its own consumerPid and its own freshly signed
    token (a jti of its own, valid for minutes): made before the timer starts, so the client
    spends the run sending, not signing and serialising (the provider still verifies each
    token, checks its jti and parses each body)."""
    keys = KeyRing.load(consumer.directory, consumer.did)
    credential = consumer.credential()
    out = []
    for _ in range(count):
        body = {
            "@context": CONTEXT,
            "@type": "ContractRequestMessage",
            "consumerPid": f"urn:uuid:{uuid.uuid4()}",
            "callbackAddress": consumer.callback_address,
            "offer": {**PARKED, "target": DATASET},
        }
        token = issue_id_token(
            keys.active,
            issuer=consumer.did,
            audience=provider.did,
            credential=credential,
            now=system_clock(),
        )
        out.append((json.dumps(body).encode(), f"Bearer {token}"))
    return out


CLIENT_NOTE = (
    "the client signs the tokens and serialises the bodies before the timer starts, "
    f"and runs on {SERVER_LOOP}'s event loop as the connectors do"
)


def on_client_loop(coroutine: Any) -> Any:
    """Run the benchmark's client on the event loop the served connectors use: a cheaper
    load generator leaves more of the shared cores to the parts measured."""
    factory = uvicorn.Config(app=None, loop=SERVER_LOOP).get_loop_factory()
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coroutine)


async def baseline(
    http: httpx.AsyncClient, provider: Settings, consumer: Settings, count: int, concurrency: int
) -> float:
    """Signed initial requests that each end in one commit (the offer waits for an operator)."""
    url = provider.dsp_base + "/negotiations/request"
    requests = signed_requests(provider, consumer, count + 1)
    requests.reverse()  # popped from the end: sent in the order made

    async def send() -> None:
        body, authorization = requests.pop()
        headers = {"Authorization": authorization, "Content-Type": "application/json"}
        response = await http.post(url, content=body, headers=headers)
        if response.status_code != 201:
            raise RuntimeError(f"baseline request failed: {response.status_code} {response.text}")

    async def worker() -> None:
        while requests:
            await send()

    await send()  # warm up the DID and status caches with one message
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return count / elapsed


async def bare(http: httpx.AsyncClient, provider: Settings, count: int, concurrency: int) -> float:
    """The same client against an endpoint that does nothing (no token, no database)."""
    url = provider.public_url + "/.well-known/dspace-version"
    remaining = list(range(count))

    async def worker() -> None:
        while remaining:
            remaining.pop()
            if (await http.get(url)).status_code != 200:
                raise RuntimeError("the bare endpoint failed")

    await http.get(url)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def breakdown(
    provider: Settings, consumer: Settings, count: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Where one signed message's time goes, stage by stage, measured in this process on the
    provider's own database (the server runs the same code; HTTP is what is left of the
    baseline's per-message time); also the SQL statements each commit sends that
    SQLAlchemy's cursor events see (not the replay insert, the audit log's seals,
    BEGIN and COMMIT, which go to the driver). Those are counted over `COUNTED` messages of
    their own, untimed: on SQLite a listener sends every statement through SQLAlchemy's
    execution (store.driver.execute), which the timed messages must not pay for."""
    from sqlalchemy import event

    from connector.app import build_connector
    from connector.control.peers import Peer
    from connector.protocol.base import parse_message
    from connector.protocol.messages import ContractRequestMessage

    keys = KeyRing.load(consumer.directory, consumer.did)
    credential = consumer.credential()
    connector = build_connector(provider, migrate=False)
    spent = dict.fromkeys(
        (
            "sign",
            "verify: token + credential",
            "replay cache commit",
            "parse",
            "state + audit commit",
        ),
        0.0,
    )
    sent = [0]  # statements the provider's engine sent (on PostgreSQL each is a round trip)

    def _count(*_: Any) -> None:
        sent[0] += 1

    statements = {"replay cache commit": 0.0, "state + audit commit": 0.0}
    try:
        for i in range(1 + COUNTED + count):
            # the first message warms the caches; the next COUNTED count statements
            counting = 1 <= i <= COUNTED
            if i == 1:
                event.listen(connector.store.engine, "before_cursor_execute", _count)
            elif i == 1 + COUNTED:
                event.remove(connector.store.engine, "before_cursor_execute", _count)
            t0 = time.perf_counter()
            token = issue_id_token(
                keys.active,
                issuer=consumer.did,
                audience=provider.did,
                credential=credential,
                now=system_clock(),
            )
            t1 = time.perf_counter()
            replay, connector.verifier._replay = connector.verifier._replay, _Always()
            verified = await connector.verifier.verify(f"Bearer {token}")
            connector.verifier._replay = replay
            t2 = time.perf_counter()
            before_replay = sent[0]
            await connector.store.call(
                connector.store.remember, consumer.did, verified.jti, system_clock()
            )
            t3 = time.perf_counter()
            replay_statements = sent[0] - before_replay
            body = {
                "@context": CONTEXT,
                "@type": "ContractRequestMessage",
                "consumerPid": f"urn:uuid:{uuid.uuid4()}",
                "callbackAddress": consumer.callback_address,
                "offer": {**PARKED, "target": DATASET},
            }
            msg = parse_message(body, ContractRequestMessage)
            t4 = time.perf_counter()
            peer = Peer(did=consumer.did, claims={"role": "municipality", "memberships": []})
            before_state = sent[0]
            await connector.store.call(connector.negotiations.on_request, peer, msg)
            t5 = time.perf_counter()
            if counting:
                statements["replay cache commit"] += replay_statements
                statements["state + audit commit"] += sent[0] - before_state
            if i <= COUNTED:
                continue  # warm-up or counted: not timed
            for key, took in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
                spent[key] += took
    finally:
        if event.contains(connector.store.engine, "before_cursor_execute", _count):
            event.remove(connector.store.engine, "before_cursor_execute", _count)
        await connector.aclose()
    micros = {key: total / count * 1e6 for key, total in spent.items()}
    return micros, {key: total / COUNTED for key, total in statements.items()}


COUNTED = 10  # messages whose statements `breakdown` counts (untimed)


class _Always:
    """A replay cache that accepts everything: `breakdown` times the real one on its own."""

    def remember(self, *_: Any) -> bool:
        return True


async def negotiations(
    provider: Settings, consumer: Settings, count: int, concurrency: int
) -> dict[str, float]:
    client = ManagementClient.for_settings(consumer)
    remaining = list(range(count))
    failures: list[str] = []
    # As an operator would: read the provider's catalogue once, then negotiate for its offer.
    catalog = await client.call(
        "GET",
        "/catalog",
        params={"provider": provider.did, "provider_address": provider.dsp_base},
    )
    dataset = next(d for d in catalog["dataset"] if d["@id"] == DATASET)
    offer = next(p for p in dataset["hasPolicy"] if p["@id"] == OPEN["@id"])

    async def flow() -> None:
        while remaining:
            remaining.pop()
            started = await client.call(
                "POST",
                "/negotiations",
                json={
                    "provider": provider.did,
                    "dataset_id": DATASET,
                    "offer": offer,
                    "provider_address": provider.dsp_base,
                },
            )
            done = await client.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=60)
            if done["state"] != "FINALIZED":
                failures.append(f"negotiation {done['state']}: {done.get('last_error')}")
                continue
            transfer = await client.call(
                "POST", "/transfers", json={"agreement_id": done["agreement_id"]}
            )
            moved = await client.wait_for("transfers", transfer["id"], ["STARTED"], timeout=60)
            if moved["state"] != "STARTED":
                failures.append(f"transfer {moved['state']}: {moved.get('last_error')}")

    since = system_clock()
    started = time.perf_counter()
    await asyncio.gather(*(flow() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await client.aclose()
    if failures:
        raise RuntimeError(f"{len(failures)} flows failed, e.g. {failures[0]}")
    latencies = negotiation_latencies(consumer, since)
    return {
        "rate": count / elapsed,
        "p50": percentile(latencies, 0.50) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
        "n": len(latencies),
    }


def negotiation_latencies(consumer: Settings, since: Any) -> list[float]:
    """Request created -> FINALIZED recorded, per negotiation, from the consumer's own store."""
    store = Store(build_engine(consumer.database))
    with store.transaction() as tx:
        rows = tx.processes(NegotiationRow, role="consumer", state="FINALIZED", limit=100_000)
        out = []
        for row in rows:
            if row.created_at < since:
                continue
            final = [e.at for e in tx.events(row.id) if e.to_state == "FINALIZED"]
            out.append((final[-1] - row.created_at) / timedelta(seconds=1))
    store.dispose()
    return out


SETTLED = 0.02  # of a core, over one window: the load's own work is done
SETTLE_WINDOW = 0.25  # s
SETTLE_LIMIT = 10.0  # s at most


async def settle(pids: list[int]) -> tuple[float, float]:
    """Wait until the pair has finished what the load left it to do: the receipts owed for the
    last exchanges, still queued behind the batch the exchange was delivering when the load
    stopped, and the next witness request. Returns the seconds that took and the CPU seconds
    spent on it (idle time is measured after this: the work is the load's, not idleness')."""
    started = time.perf_counter()
    first = last = sum(proc_cpu_seconds(p) for p in pids)
    while time.perf_counter() - started < SETTLE_LIMIT:
        await asyncio.sleep(SETTLE_WINDOW)
        now = sum(proc_cpu_seconds(p) for p in pids)
        if now - last < SETTLED * SETTLE_WINDOW:
            break
        last = now
    return time.perf_counter() - started, last - first


async def idle_cpu(pids: list[int], seconds: float) -> float:
    before = sum(proc_cpu_seconds(p) for p in pids)
    await asyncio.sleep(seconds)
    return (sum(proc_cpu_seconds(p) for p in pids) - before) / seconds * 100


async def run(
    label: str, database_url_for: Any, args: argparse.Namespace, processes: int = 1
) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="tsunagu-bench-") as tmp:
        pair = Pair(Path(tmp), database_url_for, processes)
        try:
            provider, consumer = await pair.start()
            async with ManagementClient.for_settings(provider) as admin:
                await admin.call(
                    "POST",
                    "/datasets",
                    json={
                        "id": DATASET,
                        "title": "bench",
                        "offers": [{"policy": OPEN}, {"policy": PARKED, "requires_approval": True}],
                    },
                )
            consumer_pids = [p for p in pair.connector_pids if p not in pair.provider_pids]
            on_postgres = provider.database.startswith("postgres")
            meter = CpuMeter(pair, pair.provider_pids, consumer_pids, on_postgres=on_postgres)
            concurrency = max(args.concurrency)
            # One client for the baseline and the bare endpoint, so the two stay comparable.
            limits = httpx.Limits(max_connections=concurrency)
            async with httpx.AsyncClient(limits=limits, timeout=30) as http:
                since = meter.start()
                base = await baseline(http, provider, consumer, args.baseline, concurrency)
                base_cpu = meter.spent(since)
                stages, statements = await breakdown(provider, consumer, args.breakdown)
                nothing = await bare(http, provider, args.baseline * 4, concurrency)
            unloaded = await negotiations(provider, consumer, args.unloaded, 1)
            loaded = []
            for n in args.concurrency:
                since = meter.start()
                loaded.append((n, await negotiations(provider, consumer, args.negotiations, n)))
                loaded_cpu = meter.spent(since)
            settling = await settle(pair.connector_pids)
            idle = await idle_cpu(pair.connector_pids, args.idle_seconds)
        finally:
            pair.stop()
            await pair.aclose()
    print(f"\n== {label} ==")
    print(f"bare endpoint (no token, no database)             {nothing:8.0f} requests/s")
    print(f"baseline: one signed message + one state commit   {base:8.0f} messages/s")
    print(meter.line(base_cpu, args.baseline, "message"))
    print(f"    ({CLIENT_NOTE})")
    print(f"  where one message's time goes (µs, in-process, {args.breakdown} messages):")
    per_message = 1e6 / base
    for stage, micros in stages.items():
        count = statements.get(stage)
        sql = "" if count is None else f"   ({count:.1f} statements SQLAlchemy's events see)"
        print(f"    {stage:<44} {micros:8.0f}{sql}")
    rest = per_message - sum(stages.values()) + stages["sign"]  # signing is the sender's
    print(f"    {'HTTP, ASGI and the rest (of the baseline)':<44} {rest:8.0f}")
    for n, result in loaded:
        print(f"{n} negotiations at a time:")
        print(
            f"  complete negotiations (+ transfer start)        {result['rate']:8.1f} /s"
            f"   ratio to baseline {result['rate'] / base:.3f}   (target >= 50/s)"
        )
        print(
            f"  latency request -> FINALIZED                    p50 {result['p50']:6.1f} ms   "
            f"p95 {result['p95']:6.1f} ms   (targets 50 / 100 ms; n={result['n']:.0f})"
        )
    print(meter.line(loaded_cpu, args.negotiations, f"negotiation ({loaded[-1][0]} at a time)"))
    print(
        f"1 at a time: latency                              p50 {unloaded['p50']:6.1f} ms   "
        f"p95 {unloaded['p95']:6.1f} ms   ({unloaded['rate']:.1f} /s)"
    )
    print(
        f"after the load: its last work (receipts, witness) took {settling[0]:.2f} s,"
        f" {settling[1] * 1000:.0f} ms of CPU"
    )
    print(
        f"idle CPU of the connector pair                    {idle:8.2f} % of one core"
        "   (target < 1 %)"
    )
    return {
        "baseline": base,
        "bare": nothing,
        "rate": loaded[-1][1]["rate"],
        "baseline_ceiling": meter.ceiling(base_cpu, args.baseline),
        "rate_ceiling": meter.ceiling(loaded_cpu, args.negotiations),
    }


def postgres_schemas(base: str) -> Any:
    admin = create_engine(normalise_url(base))
    created: list[str] = []

    def for_key(_key: str) -> str:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        created.append(schema)
        sep = "&" if "?" in base else "?"
        return f"{base}{sep}options=-csearch_path%3D{schema}"

    def drop() -> None:
        with admin.begin() as conn:
            for schema in created:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

    return for_key, drop


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--negotiations", type=int, default=200)
    parser.add_argument("--baseline", type=int, default=600)
    parser.add_argument(
        "--concurrency",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[5, 8],
        help="negotiations in flight at once; several, comma-separated, are each measured",
    )
    parser.add_argument(
        "--unloaded", type=int, default=30, help="negotiations run one at a time first"
    )
    parser.add_argument("--idle-seconds", type=float, default=15.0)
    parser.add_argument("--breakdown", type=int, default=300, help="messages timed stage by stage")
    parser.add_argument(
        "--quick", action="store_true", help="a short run (under 60 s per database)"
    )
    parser.add_argument(
        "--postgres", action="store_true", help="also PostgreSQL (TSUNAGU_TEST_DATABASE_URL)"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="PostgreSQL again with N provider processes"
    )
    args = parser.parse_args()
    if args.quick:
        args.negotiations, args.baseline, args.concurrency = 40, 200, [5]
        args.unloaded, args.idle_seconds, args.breakdown = 5, 4.0, 100
    os.environ.pop("TSUNAGU_DATABASE_URL", None)
    pg = os.environ.get("TSUNAGU_TEST_DATABASE_URL")
    if (args.postgres or args.processes > 1) and not pg:
        parser.error("--postgres and --processes need TSUNAGU_TEST_DATABASE_URL")
    figures = {
        "sqlite": on_client_loop(run("SQLite (WAL, synchronous=NORMAL)", lambda _k: None, args))
    }
    if pg:
        for_key, drop = postgres_schemas(pg)
        try:
            figures["pg"] = on_client_loop(run("PostgreSQL", for_key, args))
            if args.processes > 1:
                label = f"PostgreSQL, {args.processes} provider processes behind a proxy"
                figures["pgn"] = on_client_loop(run(label, for_key, args, args.processes))
        finally:
            drop()
    summary(figures, args.processes)


def summary(figures: dict[str, dict[str, float]], processes: int) -> None:
    sqlite = figures["sqlite"]
    print("\n== summary (one run) ==")
    print(
        f"SQLite signed message + commit vs bare endpoint     {sqlite['baseline']:6.0f} / "
        f"{sqlite['bare']:.0f} per s   (target >= 1,000 messages/s)"
    )
    if "pg" in figures:
        pg = figures["pg"]
        print(
            f"PostgreSQL / SQLite: messages {pg['baseline'] / sqlite['baseline']:.2f}, "
            f"negotiations {pg['rate'] / sqlite['rate']:.2f}   (target >= 0.8)"
        )
    if "pgn" in figures:
        pg, pgn = figures["pg"], figures["pgn"]
        print(
            f"PostgreSQL {processes} processes / 1: "
            f"messages {pgn['baseline'] / pg['baseline']:.2f}, "
            f"negotiations {pgn['rate'] / pg['rate']:.2f}   (target >= 1.7)"
        )
        print(
            f"  the most this machine allows at the {processes} processes' CPU cost: "
            f"messages {pgn['baseline_ceiling'] / pg['baseline']:.2f}, "
            f"negotiations {pgn['rate_ceiling'] / pg['rate']:.2f}"
        )


if __name__ == "__main__":
    main()
