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
* idle CPU of the connector pair afterwards (event-driven runners should cost ~nothing).

With TSUNAGU_TEST_DATABASE_URL set, the same figures are printed for PostgreSQL as well.

    python benchmarks/negotiation.py [--negotiations 200] [--baseline 600] [--concurrency 5,8]
                                     [--unloaded 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from connector.api.client import ManagementClient
from connector.clock import system_clock
from connector.identity.authority import Authority
from connector.identity.keys import KeyRing
from connector.identity.tokens import issue_id_token
from connector.participant import init_participant
from connector.serving import free_port
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


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            try:
                if (await http.get(url + "/.well-known/dspace-version")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


class Pair:
    """Authority + provider + consumer, each in its own process."""

    def __init__(self, root: Path, database_url_for: Any) -> None:
        self.root = root
        self.database_url_for = database_url_for
        self.processes: list[subprocess.Popen[bytes]] = []
        self.connector_pids: list[int] = []

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
            proc = self.spawn("serve", str(s.directory), "--log-level", "warning")
            self.connector_pids.append(proc.pid)
            settings.append(s)
        for s in settings:
            await wait_ready(s.public_url)
        return settings[0], settings[1]

    def stop(self) -> None:
        for proc in self.processes:
            proc.terminate()
        for proc in self.processes:
            proc.wait(timeout=10)


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


async def baseline(provider: Settings, consumer: Settings, count: int, concurrency: int) -> float:
    """Signed initial requests that each end in one commit (the offer waits for an operator)."""
    keys = KeyRing.load(consumer.directory, consumer.did)
    credential = consumer.credential()
    url = provider.dsp_base + "/negotiations/request"
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def send(http: httpx.AsyncClient) -> None:
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
        response = await http.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 201:
            raise RuntimeError(f"baseline request failed: {response.status_code} {response.text}")

    async def worker(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            queue.get_nowait()
            await send(http)

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        await send(http)  # warm up the DID and status caches with one message
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return count / elapsed


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


async def idle_cpu(pids: list[int], seconds: float) -> float:
    before = sum(proc_cpu_seconds(p) for p in pids)
    await asyncio.sleep(seconds)
    return (sum(proc_cpu_seconds(p) for p in pids) - before) / seconds * 100


async def run(label: str, database_url_for: Any, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="tsunagu-bench-") as tmp:
        pair = Pair(Path(tmp), database_url_for)
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
            base = await baseline(provider, consumer, args.baseline, max(args.concurrency))
            unloaded = await negotiations(provider, consumer, args.unloaded, 1)
            loaded = [
                (n, await negotiations(provider, consumer, args.negotiations, n))
                for n in args.concurrency
            ]
            idle = await idle_cpu(pair.connector_pids, args.idle_seconds)
        finally:
            pair.stop()
    print(f"\n== {label} ==")
    print(f"baseline: one signed message + one state commit   {base:8.0f} messages/s")
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
    print(
        f"1 at a time: latency                              p50 {unloaded['p50']:6.1f} ms   "
        f"p95 {unloaded['p95']:6.1f} ms   ({unloaded['rate']:.1f} /s)"
    )
    print(
        f"idle CPU of the connector pair                    {idle:8.2f} % of one core"
        "   (target < 1 %)"
    )


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
    args = parser.parse_args()
    os.environ.pop("TSUNAGU_DATABASE_URL", None)
    asyncio.run(run("SQLite (WAL, synchronous=NORMAL)", lambda _key: None, args))
    pg = os.environ.get("TSUNAGU_TEST_DATABASE_URL")
    if pg:
        for_key, drop = postgres_schemas(pg)
        try:
            asyncio.run(run("PostgreSQL", for_key, args))
        finally:
            drop()


if __name__ == "__main__":
    main()
