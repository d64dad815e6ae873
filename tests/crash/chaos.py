"""Many negotiations and transfers while connector processes are SIGKILLed at random moments.

An operator (this module) asks the consumer for one negotiation per dataset, a pull transfer
under each agreement, and the transfer's completion, as an operator would: through the
management API, asking again when the connector died under the request (after checking whether
the request had been taken, so nothing is asked twice). Meanwhile a killer SIGKILLs a random
connector process every so often and starts it again. Afterwards, with every process up again,
`check` counts

* lost: flows that did not reach what the operator asked for (FINALIZED, then COMPLETED);
* duplicated: a dataset negotiated twice, an agreement or a transfer twice, or any message
  recorded twice in a process's history;
* disagreeing: processes whose two sides do not report the same state;

and verifies both connectors' audit logs (`verify_connector`) against fresh checkpoints.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from connector.audit.checkpoint import NoteVerifier, origin_for
from connector.audit.client import AuditReader, verify_connector
from connector.identity.keys import KeyRing
from tests.crash.cluster import CRASH_SEED, Cluster, Node, Side

DATASET = "urn:crash:dataset:{}"
OFFER = {"@type": "Offer", "@id": "urn:crash:offer:{}", "permission": [{"action": "use"}]}
CRASH_POINTS = "TSUNAGU_CRASH_POINTS"
STEPS = ("negotiation asked", "FINALIZED", "transfer asked", "STARTED", "completion asked", "done")


class Unavailable(Exception):
    """The connector did not answer (it is down, or died under the request)."""


class Operator:
    """Management API calls to one participant that ride out its processes dying."""

    def __init__(self, side: Side, http: httpx.AsyncClient) -> None:
        self.side = side
        self.http = http
        self.headers = {"Authorization": f"Bearer {side.settings.management_token}"}

    async def once(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        try:
            answer = await self.http.request(
                method, self.side.base + "/management" + path, headers=self.headers, **kwargs
            )
        except httpx.HTTPError as exc:
            raise Unavailable(str(exc)) from exc
        if answer.status_code >= 500:
            raise Unavailable(f"{method} {path}: {answer.status_code}")
        try:
            return answer.status_code, answer.json()
        except ValueError as exc:
            raise Unavailable(f"{method} {path}: not JSON") from exc

    async def read(self, path: str, deadline: float, **kwargs: Any) -> Any:
        """A read, repeated until the connector answers (reads change nothing)."""
        while True:
            try:
                status, body = await self.once("GET", path, **kwargs)
            except Unavailable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
                continue
            if status != 200:
                raise AssertionError(f"GET {path}: {status} {body}")
            return body

    async def find(self, kind: str, deadline: float, **match: Any) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await self.read(f"/{kind}", deadline, params={"limit": 1000})
        return [r for r in rows if all(r.get(k) == v for k, v in match.items())]

    async def settle(self, kind: str, pid: str, wanted: str, deadline: float) -> dict[str, Any]:
        """Wait until the process is `wanted` (or TERMINATED) with nothing left to send."""
        while True:
            record: dict[str, Any] = await self.read(
                f"/{kind}/{pid}", deadline, params=[("wait", wanted), ("timeout", "1")]
            )
            if record["state"] in (wanted, "TERMINATED") and not record["pending"]:
                return record
            if time.monotonic() > deadline:
                return record


@dataclass
class Flow:
    index: int
    offer: dict[str, Any]
    step: int = 0  # index into STEPS
    negotiation: str | None = None
    transfer: str | None = None
    lost: str | None = None

    @property
    def dataset(self) -> str:
        return DATASET.format(self.index)

    @property
    def active(self) -> bool:
        return self.lost is None and STEPS[self.step] != "done"


async def run_flow(flow: Flow, consumer: Operator, provider: Side, step_timeout: float) -> None:
    def deadline() -> float:
        return time.monotonic() + step_timeout

    # 1. the negotiation, asked for exactly once
    body = {
        "provider": provider.did,
        "dataset_id": flow.dataset,
        "offer": flow.offer,
        "provider_address": provider.settings.dsp_base,
    }
    flow.negotiation = await _create(
        consumer, "/negotiations", body, deadline(), dataset_id=flow.dataset
    )
    flow.step = 1
    done = await consumer.settle("negotiations", flow.negotiation, "FINALIZED", deadline())
    if done["state"] != "FINALIZED":
        flow.lost = f"negotiation {done['state']}: {done.get('last_error')}"
        return
    # 2. a pull transfer under the agreement
    flow.step = 2
    agreement = done["agreement_id"]
    flow.transfer = await _create(
        consumer, "/transfers", {"agreement_id": agreement}, deadline(), agreement_id=agreement
    )
    flow.step = 3
    moved = await consumer.settle("transfers", flow.transfer, "STARTED", deadline())
    if moved["state"] != "STARTED":
        flow.lost = f"transfer {moved['state']}: {moved.get('last_error')}"
        return
    # 3. its completion
    flow.step = 4
    await _complete(consumer, flow.transfer, deadline())
    flow.step = 5
    ended = await consumer.settle("transfers", flow.transfer, "COMPLETED", deadline())
    if ended["state"] != "COMPLETED":
        flow.lost = f"transfer {ended['state']}: {ended.get('last_error')}"
        return
    flow.step = len(STEPS) - 1


async def _create(
    operator: Operator, path: str, body: dict[str, Any], deadline: float, **match: Any
) -> str:
    """POST once; when the connector died under it, look whether it was taken before asking
    again (an operator retrying blindly would ask twice)."""
    kind = path.strip("/")
    while True:
        try:
            status, created = await operator.once("POST", path, json=body)
        except Unavailable:
            found = await operator.find(kind, deadline, role="consumer", **match)
            if found:
                return str(found[0]["id"])
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
            continue
        if status != 201:
            raise AssertionError(f"POST {path}: {status} {created}")
        return str(created["id"])


async def _complete(operator: Operator, pid: str, deadline: float) -> None:
    while True:
        try:
            status, answer = await operator.once("POST", f"/transfers/{pid}/complete", json={})
        except Unavailable:
            status, answer = 0, None
        if status == 200:
            return
        record = await operator.read(f"/transfers/{pid}", deadline)
        if record["state"] == "COMPLETED" or record["pending"] == "COMPLETION":
            return  # taken before the connector died
        if status not in (0, 409) or time.monotonic() > deadline:
            raise AssertionError(f"complete {pid}: {status} {answer} ({record['state']})")
        await asyncio.sleep(0.1)


@dataclass
class Report:
    processes: int = 0  # negotiations + transfers the operator asked for
    kills: int = 0  # SIGKILL from outside
    self_kills: int = 0  # SIGKILL at a crash point
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    disagreeing: list[str] = field(default_factory=list)
    audit: list[str] = field(default_factory=list)  # logs that did not verify
    recoveries: list[float] = field(default_factory=list)
    restarts: list[float] = field(default_factory=list)
    served: dict[str, int] = field(default_factory=dict)  # requests per process (proxy)
    failed_starts: list[str] = field(default_factory=list)  # restarts that did not come up

    @property
    def longest_recovery(self) -> float:
        return max(self.recoveries, default=0.0)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.disagreeing or self.audit)

    def summary(self) -> str:
        return (
            f"processes run {self.processes}, kills {self.kills} + {self.self_kills} at crash "
            f"points, lost {len(self.lost)}, "
            f"duplicated {len(self.duplicated)}, disagreeing {len(self.disagreeing)}, "
            f"audit logs failing {len(self.audit)}, "
            f"longest recovery {self.longest_recovery:.2f} s, "
            f"failed restarts {len(self.failed_starts)}"
        )

    def details(self) -> str:
        """Every finding, one a line, for a failure message."""
        lines = [self.summary()]
        for title, items in (
            ("lost", self.lost),
            ("duplicated", self.duplicated),
            ("disagreeing", self.disagreeing),
            ("audit", self.audit),
            ("failed restarts", self.failed_starts),
        ):
            lines += [f"{title}: {item}" for item in items]
        return "\n".join(lines)


class Killer:
    """SIGKILLs a random connector process at a random moment, one kill at a time: the next
    kill waits until every flow that was in flight at this one has moved on (its recovery,
    noted) and then a random `interval`. A supervisor starts again every process that died,
    whether we killed it or it killed itself at a crash point (`connector/control/
    crash_points.py`)."""

    def __init__(
        self,
        nodes: list[Node],
        flows: list[Flow],
        rng: random.Random,
        interval: tuple[float, float],
        *,
        recovery_cap: float = 60.0,
    ) -> None:
        self.nodes = nodes
        self.flows = flows
        self.rng = rng
        self.interval = interval
        self.recovery_cap = recovery_cap
        self.kills = 0  # by us
        self.self_kills = 0  # at crash points
        self.recoveries: list[float] = []  # kill -> every flow in flight then moved on
        self.restarts: list[float] = []  # kill -> the process answers again
        self.failed_starts: list[str] = []  # restarts that exited or did not answer
        self.stopping = asyncio.Event()
        self._restarting: set[Node] = set()
        self._ours: set[Node] = set()  # killed by us, not restarted yet

    async def run(self) -> None:
        supervisor = asyncio.create_task(self._supervise())
        try:
            await self._kill_at_random()
        finally:
            supervisor.cancel()
            await asyncio.gather(supervisor, return_exceptions=True)

    async def _kill_at_random(self) -> None:
        while not self.stopping.is_set():
            try:
                await asyncio.wait_for(self.stopping.wait(), self.rng.uniform(*self.interval))
                return
            except TimeoutError:
                pass
            up = [n for n in self.nodes if n not in self._restarting and _alive(n)]
            if not up:
                continue
            node = self.rng.choice(up)
            in_flight = {f.index: f.step for f in self.flows if f.active}
            killed_at, starts = time.monotonic(), node.starts
            self._ours.add(node)
            node.kill()
            self.kills += 1
            while node.starts == starts or node in self._restarting:
                await asyncio.sleep(0.02)
            self.restarts.append(time.monotonic() - killed_at)
            await self._recovered(in_flight, killed_at)

    async def _supervise(self) -> None:
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                for node in self.nodes:
                    if node in self._restarting or _alive(node):
                        continue
                    if node not in self._ours and node.proc is not None:
                        self.self_kills += node.proc.returncode == -signal.SIGKILL
                    self._ours.discard(node)
                    self._restarting.add(node)
                    task = asyncio.create_task(self._restart(node))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                await asyncio.sleep(0.02)
        finally:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _restart(self, node: Node) -> None:
        try:
            await asyncio.sleep(self.rng.uniform(0.0, 0.3))
            node.start()
            await node.ready()
        except RuntimeError as exc:
            # It died again while starting (the supervisor sees it), or it runs but does not
            # answer: kill it, or it would stay up and unreachable for the rest of the run.
            self.failed_starts.append(f"{node.label}: {exc}")
            if _alive(node):
                self._ours.add(node)  # not a crash point's kill
                node.kill()
        finally:
            self._restarting.discard(node)

    async def _recovered(self, in_flight: dict[int, int], killed_at: float) -> None:
        by_index = {f.index: f for f in self.flows}
        while time.monotonic() - killed_at < self.recovery_cap:
            if all(by_index[i].step > s or not by_index[i].active for i, s in in_flight.items()):
                break
            await asyncio.sleep(0.02)
        self.recoveries.append(time.monotonic() - killed_at)


def _alive(node: Node) -> bool:
    return node.proc is not None and node.proc.poll() is None


async def chaos(
    cluster: Cluster,
    *,
    flows: int,
    concurrency: int,
    interval: tuple[float, float],
    seed: int,
    crash_points: str | None = None,
    step_timeout: float = 90.0,
) -> Report:
    """Run `flows` negotiation + transfer flows, `concurrency` at a time, under the killer
    (and, with `crash_points`, processes killing themselves there: TSUNAGU_CRASH_POINTS),
    then check the outcome with every process up and no crash points."""
    rng = random.Random(seed)
    provider, consumer_side = cluster["provider"], cluster["consumer"]
    limits = httpx.Limits(max_connections=4 * concurrency + 8)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=2.0), limits=limits) as http:
        publisher = Operator(provider, http)
        for i in range(flows):
            offer = {**OFFER, "@id": OFFER["@id"].format(i)}
            status, body = await publisher.once(
                "POST",
                "/datasets",
                json={
                    "id": DATASET.format(i),
                    "title": f"crash {i}",
                    "offers": [{"policy": offer}],
                },
            )
            assert status == 201, body
        work = [
            Flow(i, {**OFFER, "@id": OFFER["@id"].format(i), "target": DATASET.format(i)})
            for i in range(flows)
        ]
        consumer = Operator(consumer_side, http)
        if crash_points:
            await _restart_all(cluster, {CRASH_POINTS: crash_points, CRASH_SEED: str(seed)})
        killer = Killer(cluster.nodes, work, rng, interval)
        killing = asyncio.create_task(killer.run())
        queue = list(reversed(work))

        async def worker() -> None:
            while queue:
                flow = queue.pop()
                try:
                    await run_flow(flow, consumer, provider, step_timeout)
                except (Unavailable, AssertionError) as exc:
                    flow.lost = f"{STEPS[flow.step]}: {exc}"

        try:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        finally:
            killer.stopping.set()
            await killing
        await _restart_all(cluster, {})  # everyone up for the checks, no crash points
        report = Report(
            processes=2 * flows,
            kills=killer.kills,
            self_kills=killer.self_kills,
            recoveries=killer.recoveries,
            restarts=killer.restarts,
            failed_starts=killer.failed_starts,
        )
        report.lost = [f"flow {f.index}: {f.lost}" for f in work if f.lost]
        await check(cluster, work, http, report, step_timeout)
        for side in cluster.sides.values():
            if side.proxy is not None:
                report.served.update(side.proxy.served)
    return report


async def _restart_all(cluster: Cluster, extra_env: dict[str, str]) -> None:
    for node in cluster.nodes:
        if node.proc is not None and node.proc.poll() is None:
            node.kill()
        node.env = {k: v for k, v in node.env.items() if k not in (CRASH_POINTS, CRASH_SEED)}
        node.env.update(extra_env)
        node.start()
    for node in cluster.nodes:
        await node.ready()


async def check(
    cluster: Cluster, flows: list[Flow], http: httpx.AsyncClient, report: Report, timeout: float
) -> None:
    provider = Operator(cluster["provider"], http)
    consumer = Operator(cluster["consumer"], http)
    deadline = time.monotonic() + timeout
    theirs = {
        kind: {r["peer_pid"]: r for r in await provider.find(kind, deadline, role="provider")}
        for kind in ("negotiations", "transfers")
    }
    for kind in ("negotiations", "transfers"):
        mine = await consumer.find(kind, deadline, role="consumer")
        key = "dataset_id" if kind == "negotiations" else "agreement_id"
        for value, n in Counter(r[key] for r in mine).items():
            if n > 1:
                report.duplicated.append(f"consumer: {n} {kind} for {value}")
        on_provider = await provider.find(kind, deadline, role="provider")
        for value, n in Counter(r[key] for r in on_provider).items():
            if n > 1:
                report.duplicated.append(f"provider: {n} {kind} for {value}")
    for side, operator in (("consumer", consumer), ("provider", provider)):
        agreements = await operator.read("/agreements", deadline, params={"limit": 1000})
        for value, n in Counter(a["dataset_id"] for a in agreements).items():
            if n > 1:
                report.duplicated.append(f"{side}: {n} agreements for {value}")
    for flow in flows:
        for kind, pid, wanted in (
            ("negotiations", flow.negotiation, "FINALIZED"),
            ("transfers", flow.transfer, "COMPLETED"),
        ):
            if pid is None:
                continue
            ours = await consumer.settle(kind, pid, wanted, deadline)
            other = theirs[kind].get(pid)
            if other is None:  # it may have reached the provider after the first look
                found = await provider.find(kind, deadline, role="provider", peer_pid=pid)
                other = found[0] if found else None
            if other is None:
                report.disagreeing.append(f"{kind} {pid}: the provider has no such process")
                continue
            other = await provider.settle(kind, other["id"], wanted, deadline)
            if ours["state"] != other["state"]:
                report.disagreeing.append(
                    f"{kind} {pid}: consumer {ours['state']}, provider {other['state']}"
                )
            for who, record in (("consumer", ours), ("provider", other)):
                seen = Counter((e["direction"], e["message"], e["to"]) for e in record["events"])
                twice = [f"{m} {d} -> {t}" for (d, m, t), n in seen.items() if n > 1]
                if twice:
                    report.duplicated.append(f"{who} {kind} {record['id']}: {', '.join(twice)}")
    for name, side in cluster.sides.items():
        problem = await _verify_audit(side, http)
        if problem:
            report.audit.append(f"{name}: {problem}")


async def _verify_audit(side: Side, http: httpx.AsyncClient) -> str | None:
    headers = {"Authorization": f"Bearer {side.settings.management_token}"}
    answer = await http.post(side.base + "/audit/checkpoint", headers=headers)
    if answer.status_code >= 300:
        return f"no checkpoint: {answer.status_code} {answer.text[:200]}"
    keys = KeyRing.load(side.settings.directory, side.did)
    origin = origin_for(side.did)
    reader = AuditReader(http, side.base, side.settings.management_token)
    report = await verify_connector(
        reader, origin=origin, verifiers=[NoteVerifier(origin, keys.active.public_key())]
    )
    return None if report.ok else "; ".join(str(f) for f in report.findings[:5])
