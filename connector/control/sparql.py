"""Read-only SPARQL over the harvested catalogues, for power users.

The graph is built from the harvested DSP JSON (at most `MAX_ENTRIES` entries). Only SELECT and
ASK are answered (an update does not even parse as a query), and an answer is cut at `MAX_ROWS`
rows. rdflib cannot be interrupted from outside, and a thread cannot be stopped, so queries run
in a worker process that holds the graph: a query still running at its deadline has its process
killed (evaluation really stops, the CPU is free again) and is answered `sparql_timeout`; the
next query starts a fresh worker. The worker keeps its graph until a harvest changes something.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import multiprocessing.connection
from multiprocessing.process import BaseProcess
from typing import Any

from rdflib import Graph
from rdflib.plugins.sparql import prepareQuery

from catalog.dsp import parse_dataset
from catalog.errors import CatalogError
from catalog.model import Catalog
from catalog.rdf import to_graph
from connector.errors import ConnectorError, MessageError
from connector.store import catalog_queries as q
from connector.store.store import Store

MAX_ENTRIES = 20_000
MAX_ROWS = 10_000
DEADLINE = 10.0
# Starting a worker and building its graph is our cost, not the query's: bounded apart.
BUILD_DEADLINE = 120.0


class SparqlTimeout(ConnectorError):
    code = "sparql_timeout"
    status = 503


class SparqlBusy(ConnectorError):
    code = "sparql_busy"
    status = 503


class SparqlService:
    def __init__(self, store: Store, *, deadline: float = DEADLINE) -> None:
        self.store = store
        self.deadline = deadline
        self._worker: _Worker | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def of(cls, connector: Any) -> SparqlService:
        """One per connector (its worker holds the graph); kept on the connector object."""
        service = getattr(connector, "_sparql", None)
        if service is None:
            service = cls(connector.store)
            connector._sparql = service
        return service

    async def query(self, text: str) -> dict[str, Any]:
        kind = query_kind(text)
        if self._lock.locked():
            raise SparqlBusy("another SPARQL query is running; try again shortly")
        async with self._lock:
            marker, documents = await self.store.call(self._documents_if_changed)
            worker = self._worker
            if worker is None or not worker.alive():
                worker = self._worker = await asyncio.to_thread(_Worker.start)
            if worker.marker != marker:
                if documents is None:  # read again: the worker is new and has no graph
                    marker, documents = await self.store.call(self._documents, marker)
                await self._ask(worker, ("graph", documents), BUILD_DEADLINE, "building the graph")
                worker.marker = marker
            answer: dict[str, Any] = await self._ask(
                worker, ("query", text, kind), self.deadline, "the query"
            )
            return answer

    async def _ask(self, worker: _Worker, message: tuple[Any, ...], limit: float, what: str) -> Any:
        try:
            answer = await asyncio.to_thread(worker.ask, message, limit)
        except TimeoutError:
            worker.kill()
            self._worker = None
            raise SparqlTimeout(f"{what} took longer than {limit:g} s and was stopped") from None
        except (EOFError, OSError) as exc:
            worker.kill()
            self._worker = None
            raise SparqlTimeout(f"the SPARQL worker stopped during {what}: {exc}") from None
        except asyncio.CancelledError:
            # the asker went away: its answer would reach the next query, so stop it here
            worker.kill()
            self._worker = None
            raise
        if isinstance(answer, dict) and "error" in answer:
            raise MessageError(answer["error"], code="invalid_sparql")
        return answer

    def close(self) -> None:
        if self._worker is not None:
            self._worker.kill()
            self._worker = None

    def _marker(self, tx: Any) -> tuple[int, str]:
        peers = q.peers(tx.session)
        return (len(peers), "".join(p.catalog_hash or "-" for p in peers))

    def _documents_if_changed(self) -> tuple[tuple[int, str], list[str] | None]:
        with self.store.transaction() as tx:
            marker = self._marker(tx)
            worker = self._worker
            if worker is not None and worker.alive() and worker.marker == marker:
                return marker, None
            return marker, [d for _p, d in q.all_documents(tx.session, MAX_ENTRIES)]

    def _documents(self, _old: tuple[int, str]) -> tuple[tuple[int, str], list[str]]:
        with self.store.transaction() as tx:
            return self._marker(tx), [d for _p, d in q.all_documents(tx.session, MAX_ENTRIES)]


def query_kind(text: str) -> str:
    """`SelectQuery` or `AskQuery`; anything else is refused before a worker sees it."""
    try:
        prepared = prepareQuery(text)
    except Exception as exc:  # pyparsing raises its own types for any bad query
        raise MessageError(f"not a SPARQL query: {exc}", code="invalid_sparql") from exc
    kind: str = prepared.algebra.name
    if kind not in ("SelectQuery", "AskQuery"):
        raise MessageError(f"only SELECT and ASK are answered, not {kind}", code="sparql_read_only")
    return kind


class _Worker:
    """A child process answering ("graph", documents) and ("query", text, kind) messages."""

    def __init__(self, process: BaseProcess, conn: multiprocessing.connection.Connection) -> None:
        self.process = process
        self.conn = conn
        self.marker: tuple[int, str] | None = None

    @classmethod
    def start(cls) -> _Worker:
        # spawn, not fork: the connector has threads and an event loop a fork would copy
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(target=serve, args=(theirs,), daemon=True, name="tsunagu-sparql")
        process.start()
        theirs.close()
        return cls(process, ours)

    def alive(self) -> bool:
        return self.process.is_alive()

    def ask(self, message: tuple[Any, ...], limit: float) -> Any:
        self.conn.send(message)
        if not self.conn.poll(limit):
            raise TimeoutError
        return self.conn.recv()

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


def serve(conn: multiprocessing.connection.Connection) -> None:
    """The worker's loop (in the child process)."""
    graph = Graph()
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message[0] == "graph":
            graph = build_graph(message[1])
            conn.send({"built": len(graph)})
        else:
            try:
                conn.send(run(graph, message[1], message[2]))
            except Exception as exc:  # an evaluation error is the query's fault, say it
                conn.send({"error": f"the query failed: {exc}"})


def build_graph(documents: list[str]) -> Graph:
    datasets = []
    for document in documents:
        try:
            datasets.append(parse_dataset(json.loads(document)))
        except CatalogError:
            continue  # stored entries were valid when harvested; skip anything odd
    return to_graph(
        Catalog(id="urn:tsunagu:harvested", participant_id=None, datasets=tuple(datasets))
    )


def run(graph: Graph, text: str, kind: str) -> dict[str, Any]:
    result = graph.query(text)
    if kind == "AskQuery":
        return {"boolean": bool(result.askAnswer)}
    names = [str(v) for v in result.vars or ()]
    rows: list[dict[str, str | None]] = []
    truncated = False
    for row in result:
        if len(rows) >= MAX_ROWS:
            truncated = True
            break
        values: Any = row
        rows.append(
            {n: (None if v is None else str(v)) for n, v in zip(names, values, strict=False)}
        )
    return {"vars": names, "rows": rows, "truncated": truncated}
