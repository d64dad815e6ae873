"""The data plane against plain baselines, everything on loopback, all figures from one run.

* large transfer: a 1 GiB file from nginx (Debian's, installed if missing, on its own config in
  a temporary directory) versus the same file through the provider connector's data plane with
  token checks, one stream and four concurrent streams, the connector on 2 uvicorn workers;
  MiB/s of both, the ratio, and the connector workers' peak RSS growth;
* small reads: 1 KiB authorised reads through the data plane versus a trivial FastAPI endpoint
  returning the same 1 KiB with no checks (same 2 workers): requests/s at 16 concurrent clients
  (wrk, installed if missing), the added latency p50/p95 at one client, and the share of a
  request spent checking the token;
* live stream: MQTT publish (Mosquitto on 127.0.0.1:1883) to the consumer reading the NDJSON
  stream, p95.

    python benchmarks/dataplane.py [--size-mib 1024] [--seconds 5]
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
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
from fastapi import FastAPI
from fastapi.responses import Response

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.demo.localspace import LocalDataspace
from connector.serving import free_port

KIB = b"x" * 1024
COUNCIL = "urn:tsunagu:council:bench"


# -- apps the uvicorn workers build (uvicorn --factory) --------------------------------------


def provider_app() -> Any:
    from connector.app import build_connector, create_app
    from connector.settings import load_settings

    settings = load_settings(Path(os.environ["TSUNAGU_BENCH_PROVIDER"]))
    return create_app(build_connector(settings, migrate=False), run_background=False)


def baseline_app() -> FastAPI:
    app = FastAPI()

    @app.get("/kib")
    async def kib() -> Response:
        return Response(KIB, media_type="application/octet-stream")

    return app


# -- helpers -----------------------------------------------------------------------------------


def ensure_debian(*packages: str) -> None:
    missing = [p for p in packages if shutil.which("nginx" if p == "nginx" else p) is None]
    if missing:
        print(f"installing {' '.join(missing)} from Debian ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", *missing], check=True, capture_output=True)


def workers(
    factory: str, port: int, env: dict[str, str], n: int = 2
) -> list[subprocess.Popen[bytes]]:
    """`n` uvicorn processes sharing one port (SO_REUSEPORT).

    Not `uvicorn --workers`: its shared socket is made without IPPROTO_TCP, so asyncio never
    sets TCP_NODELAY on accepted connections and every keep-alive request waits ~40 ms for a
    delayed ACK (measured here: 367 requests/s instead of 7,000)."""
    return [
        subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--worker",
                factory,
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        )  # fmt: skip
        for _ in range(n)
    ]


def serve_worker(factory: str, port: int) -> None:
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    app = {"provider": provider_app, "baseline": baseline_app}[factory]()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


def nginx(root: Path, port: int, work: Path) -> subprocess.Popen[bytes]:
    conf = work / "nginx.conf"
    conf.write_text(
        f"""worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
"""
    )
    return subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work), "-g", "daemon off;"])


def wait_up(url: str) -> None:
    for _ in range(400):
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} never came up")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def curl(urls: list[str], token: str | None) -> float:
    """Total MiB/s of downloading `urls` at once with curl (to /dev/null)."""
    header = ["-H", f"Authorization: Bearer {token}"] if token else []
    started = time.perf_counter()
    procs = [
        await asyncio.create_subprocess_exec(
            "curl",
            "-sf",
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
            *header,
            url,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        for url in urls
    ]
    sizes = [int((await p.communicate())[0] or 0) for p in procs]
    elapsed = time.perf_counter() - started
    if any(p.returncode for p in procs):
        raise RuntimeError("a download failed")
    return sum(sizes) / elapsed / (1 << 20)


async def with_peak_rss(pids: list[int], work: Any) -> tuple[Any, int]:
    """Run `work`; also the peak growth of the summed RSS of `pids` (KiB)."""
    before = sum(rss_kib(p) for p in pids)
    peak = before
    task = asyncio.ensure_future(work)
    while not task.done():
        peak = max(peak, sum(rss_kib(p) for p in pids))
        await asyncio.sleep(0.02)
    return task.result(), peak - before


def wrk(url: str, seconds: int, token: str | None) -> float:
    header = ["-H", f"Authorization: Bearer {token}"] if token else []
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", *header, url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(out)


def latencies(port: int, path: str, token: str | None, n: int) -> list[float]:
    """Milliseconds per request of one keep-alive client."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    out = []
    for _ in range(n):
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        if response.status != 200 or len(response.read()) != 1024:
            raise RuntimeError(f"{path} answered {response.status}")
        out.append((time.perf_counter() - started) * 1000)
    connection.close()
    return out


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


# -- the run -----------------------------------------------------------------------------------


async def setup(space: LocalDataspace, files: Path, topic: str) -> dict[str, dict[str, Any]]:
    await space.start_authority()
    await space.add("provider", "A市", municipality_code="202151", memberships=[COUNCIL])
    await space.add("consumer", "C村", municipality_code="204323", memberships=[COUNCIL])
    provider, consumer = space["provider"], space["consumer"]
    sources = {
        "big": {"type": "file", "path": str(files / "big.bin")},
        "small": {"type": "file", "path": str(files / "kib.bin")},
        "live": {"type": "mqtt", "host": "127.0.0.1", "port": 1883, "topic": topic},
    }
    pulls = {}
    for name, address in sources.items():
        dataset = f"urn:bench:{name}"
        await provider.client.call("POST", "/datasets", json={
            "id": dataset, "title": name, "data_address": address,
            "offers": [{"policy": {"@type": "Offer", "@id": f"urn:bench:offer:{name}",
                                   "permission": [{"action": "use"}]}}],
        })  # fmt: skip
        started = await consumer.client.call(
            "POST", "/negotiations", json={"provider": provider.did, "dataset_id": dataset}
        )
        done = await consumer.client.wait_for("negotiations", started["id"], ["FINALIZED"])
        transfer = await consumer.client.call(
            "POST", "/transfers", json={"agreement_id": done["agreement_id"]}
        )
        record = await consumer.client.wait_for("transfers", transfer["id"], ["STARTED"])
        address = record["data_address"]
        props = {p["name"]: p["value"] for p in address["endpointProperties"]}
        pulls[name] = {"endpoint": address["endpoint"], "provider_did": provider.did, **props}
    return pulls


async def fresh_token(space: LocalDataspace, pull: dict[str, Any]) -> str:
    """Renew a pull's access token through the provider's refresh endpoint."""
    consumer = space["consumer"].connector
    id_token = consumer.dispatcher.token_for(pull["provider_did"])
    async with httpx.AsyncClient() as client:
        response = await client.post(
            pull["refreshEndpoint"],
            json={"refresh_token": pull["refreshToken"]},
            headers={"Authorization": f"Bearer {id_token}"},
        )
    response.raise_for_status()
    data = response.json()
    pull["authorization"], pull["refreshToken"] = data["access_token"], data["refresh_token"]
    return str(data["access_token"])


async def run(size_mib: int, seconds: int) -> None:
    ensure_debian("nginx", "wrk")
    with tempfile.TemporaryDirectory(prefix="tsunagu-bench-") as tmp:
        work = Path(tmp)
        files = work / "files"
        files.mkdir()
        for directory in (work, files):  # nginx's workers run as another user
            directory.chmod(0o755)
        block = os.urandom(1 << 20)
        with (files / "big.bin").open("wb") as out:
            for _ in range(size_mib):
                out.write(block)
        (files / "kib.bin").write_bytes(KIB)
        subprocess.run(["cat", str(files / "big.bin")], stdout=subprocess.DEVNULL, check=True)
        topic = f"tsunagu-bench/{os.getpid()}"
        procs: list[subprocess.Popen[bytes]] = []
        async with LocalDataspace(work / "space") as space:
            try:
                pulls = await setup(space, files, topic)
                settings = await space.stop("provider")  # from here on: 2 worker processes
                provider = workers(
                    "provider", settings.port, {"TSUNAGU_BENCH_PROVIDER": str(settings.directory)}
                )
                procs += provider
                base_port, nginx_port = free_port(), free_port()
                procs += workers("baseline", base_port, {})
                procs.append(nginx(files, nginx_port, work))
                wait_up(f"http://127.0.0.1:{settings.port}/.well-known/dspace-version")
                wait_up(f"http://127.0.0.1:{base_port}/kib")
                wait_up(f"http://127.0.0.1:{nginx_port}/kib.bin")
                await figures(space, pulls, [p.pid for p in provider], nginx_port, base_port,
                              size_mib, seconds, topic)  # fmt: skip
            finally:
                for proc in procs:
                    proc.terminate()
                for proc in procs:
                    proc.wait(timeout=20)


async def figures(
    space: LocalDataspace,
    pulls: dict[str, dict[str, Any]],
    provider_pids: list[int],
    nginx_port: int,
    base_port: int,
    size_mib: int,
    seconds: int,
    topic: str,
) -> None:
    big = pulls["big"]
    print(f"\nlarge transfer: {size_mib} MiB file, provider on {len(provider_pids)} workers")
    nginx_url = f"http://127.0.0.1:{nginx_port}/big.bin"
    for streams, target in ((1, 0.5), (4, 0.4)):
        direct = await curl([nginx_url] * streams, None)
        token = await fresh_token(space, big)
        through, grown = await with_peak_rss(
            provider_pids, curl([big["endpoint"]] * streams, token)
        )
        ratio = through / direct
        print(
            f"  {streams} stream(s): nginx {direct:,.0f} MiB/s, data plane {through:,.0f} MiB/s, "
            f"ratio {ratio:.2f} (target >= {target}) {'ok' if ratio >= target else 'MISSED'}; "
            f"peak RSS growth {grown / 1024:.1f} MiB for {streams} stream(s) "
            f"({grown / 1024 / streams:.1f} MiB per stream, target < 16)"
        )

    small = pulls["small"]
    token = await fresh_token(space, small)
    data_url = small["endpoint"]
    print("\nsmall reads: 1 KiB, 2 workers each, 16 concurrent clients (wrk)")
    base_rps = await asyncio.to_thread(wrk, f"http://127.0.0.1:{base_port}/kib", seconds, None)
    data_rps = await asyncio.to_thread(wrk, data_url, seconds, token)
    ratio = data_rps / base_rps
    print(
        f"  trivial FastAPI {base_rps:,.0f}/s, data plane {data_rps:,.0f}/s, ratio {ratio:.2f} "
        f"(target >= 0.2) {'ok' if ratio >= 0.2 else 'MISSED'}; "
        f"{data_rps / 2:,.0f}/s per worker"
    )
    token = await fresh_token(space, small)
    port = int(data_url.split(":")[2].split("/")[0])
    path = "/" + data_url.split("/", 3)[3]
    base_lat = await asyncio.to_thread(latencies, base_port, "/kib", None, 3000)
    data_lat = await asyncio.to_thread(latencies, port, path, token, 3000)
    p50 = pct(data_lat, 0.5) - pct(base_lat, 0.5)
    p95 = pct(data_lat, 0.95) - pct(base_lat, 0.95)
    print(
        f"  one client: trivial p50 {pct(base_lat, 0.5):.2f} ms p95 {pct(base_lat, 0.95):.2f} ms; "
        f"data plane p50 {pct(data_lat, 0.5):.2f} ms p95 {pct(data_lat, 0.95):.2f} ms; "
        f"added p50 {p50:.2f} ms, p95 {p95:.2f} ms (target < 3) {'ok' if p95 < 3 else 'MISSED'}"
    )
    share = token_check_share(space, token, data_rps / 2)
    print(
        f"  token check (cached until expiry): {share[0]:.1f} us of a {share[1]:.0f} us request "
        f"= {share[2]:.1f}% (target < 5%) {'ok' if share[2] < 5 else 'MISSED'}; "
        f"first check with signature {share[3]:.0f} us"
    )

    await live_latency(space, pulls["live"], topic)


def token_check_share(
    space: LocalDataspace, token: str, per_worker_rps: float
) -> tuple[float, float, float, float]:
    from connector.dataplane.tokens import TransferTokens
    from connector.identity.keys import KeyRing
    from connector.settings import load_settings

    provider = load_settings(space.root / "provider")
    tokens = TransferTokens(KeyRing.load(provider.directory, provider.did), own_did=provider.did,
                            clock=space.clock)  # fmt: skip
    transfer_id = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[1] + "=="))[
        "transfer_id"
    ]
    started = time.perf_counter()
    tokens.check(f"Bearer {token}", transfer_id)
    first = (time.perf_counter() - started) * 1e6
    n = 100_000
    started = time.perf_counter()
    for _ in range(n):
        tokens.check(f"Bearer {token}", transfer_id)
    cached = (time.perf_counter() - started) / n * 1e6
    request = 1e6 / per_worker_rps
    return cached, request, cached / request * 100, first


async def live_latency(space: LocalDataspace, pull: dict[str, Any], topic: str) -> None:
    token = await fresh_token(space, pull)
    delays: list[float] = []
    count = 200
    async with httpx.AsyncClient(timeout=30) as client, client.stream(
        "GET", pull["endpoint"],
        headers={"Authorization": f"Bearer {token}", "Accept": "application/x-ndjson"},
    ) as response:  # fmt: skip
        response.raise_for_status()

        async def publish() -> None:
            async with aiomqtt.Client("127.0.0.1", 1883) as mqtt:
                for i in range(count):
                    await mqtt.publish(topic, json.dumps({"i": i, "sent": time.time()}))
                    await asyncio.sleep(0.01)

        sender = asyncio.ensure_future(publish())
        async for line in response.aiter_lines():
            if not line:
                continue
            record = json.loads(line)
            delays.append((time.time() - record["payload"]["sent"]) * 1000)
            if record["payload"]["i"] == count - 1:
                break
        await sender
    p95 = pct(delays, 0.95)
    print(
        f"\nlive stream: {len(delays)} MQTT readings, publish -> consumer p50 "
        f"{pct(delays, 0.5):.1f} ms, p95 {p95:.1f} ms (target < 50) "
        f"{'ok' if p95 < 50 else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        serve_worker(args.worker, args.port)
        return
    asyncio.run(run(args.size_mib, args.seconds))


if __name__ == "__main__":
    main()
