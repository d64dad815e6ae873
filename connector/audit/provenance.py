"""Who sent what to whom, when, under which agreement: read from verified logs, and written
as W3C PROV-O (Turtle) for provenance tools (来歴).

An exchange is one agreement (dataset, provider, consumer, the agreed policy's hash, when it
was signed) and the transfers made under it (when each started and ended), as the provider's
and the consumer's logs record them; each fact names the log entries it comes from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef

__all__ = ["Exchange", "TransferSpan", "exchanges", "to_prov"]

PROV = Namespace("http://www.w3.org/ns/prov#")
ODRL = Namespace("http://www.w3.org/ns/odrl/2/")
TSUNAGU = Namespace("https://w3id.org/tsunagu/audit#")


@dataclass
class TransferSpan:
    transfer: str  # the recording side's transfer id
    recorded_by: str  # that side's DID
    started: str | None = None
    ended: str | None = None
    outcome: str | None = None  # COMPLETED | TERMINATED


@dataclass
class Exchange:
    agreement: str
    dataset: str
    provider: str
    consumer: str
    policy_sha256: str
    signed: str
    recorded_by: list[str] = field(default_factory=list)  # DIDs whose logs hold it
    transfers: list[TransferSpan] = field(default_factory=list)


def _mentions(value: Any, needle: str) -> bool:
    if isinstance(value, str):
        return value == needle
    if isinstance(value, Mapping):
        return any(_mentions(v, needle) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, needle) for v in value)
    return False


def exchanges(logs: Sequence[tuple[str, Mapping[int, Mapping[str, Any]]]]) -> list[Exchange]:
    """The exchanges in the logs of (DID, seq -> entry), one per agreement."""
    found: dict[str, Exchange] = {}
    for did, entries in logs:
        ordered = [entries[i] for i in sorted(entries)]
        for entry in ordered:
            details = entry.get("details")
            if entry.get("kind") != "agreement.signed" or not isinstance(details, Mapping):
                continue
            agreement = str(entry.get("subject"))
            exchange = found.setdefault(
                agreement,
                Exchange(
                    agreement,
                    str(details.get("dataset")),
                    str(details.get("provider")),
                    str(details.get("consumer")),
                    str(details.get("policy_sha256")),
                    str(entry.get("time")),
                ),
            )
            exchange.recorded_by.append(did)
            exchange.transfers.extend(_transfers(did, ordered, agreement))
    return sorted(found.values(), key=lambda e: e.signed)


def _transfers(did: str, entries: list[Mapping[str, Any]], agreement: str) -> list[TransferSpan]:
    pids = [
        str(e.get("subject"))
        for e in entries
        if e.get("kind") in ("transfer.opened", "transfer.transition")
        and _mentions(e.get("details"), agreement)
    ]
    spans = []
    for pid in dict.fromkeys(pids):
        span = TransferSpan(pid, did)
        for e in entries:
            if e.get("kind") != "transfer.transition" or e.get("subject") != pid:
                continue
            details = e.get("details") or {}
            to_state = details.get("to") if isinstance(details, Mapping) else None
            if to_state == "STARTED" and span.started is None:
                span.started = str(e.get("time"))
            elif to_state in ("COMPLETED", "TERMINATED"):
                span.ended, span.outcome = str(e.get("time")), str(to_state)
        spans.append(span)
    return spans


def _iri(value: str) -> URIRef:
    return URIRef(value)


def _time(value: str) -> Literal:
    return Literal(value, datatype=XSD.dateTime)


def to_prov(found: Sequence[Exchange]) -> str:
    """PROV-O in Turtle: datasets as entities, participants as agents, agreements as entities
    (odrl:Agreement) and each transfer as an activity that used the dataset under one."""
    graph = Graph()
    graph.bind("prov", PROV)
    graph.bind("odrl", ODRL)
    graph.bind("tsunagu", TSUNAGU)
    for exchange in found:
        dataset, agreement = _iri(exchange.dataset), _iri(exchange.agreement)
        provider, consumer = _iri(exchange.provider), _iri(exchange.consumer)
        graph.add((dataset, RDF.type, PROV.Entity))
        graph.add((dataset, PROV.wasAttributedTo, provider))
        for agent in (provider, consumer):
            graph.add((agent, RDF.type, PROV.Agent))
        graph.add((agreement, RDF.type, PROV.Entity))
        graph.add((agreement, RDF.type, ODRL.Agreement))
        graph.add((agreement, ODRL.target, dataset))
        graph.add((agreement, ODRL.assigner, provider))
        graph.add((agreement, ODRL.assignee, consumer))
        graph.add((agreement, TSUNAGU.policySha256, Literal(exchange.policy_sha256)))
        graph.add((agreement, PROV.generatedAtTime, _time(exchange.signed)))
        for did in exchange.recorded_by:
            graph.add((agreement, TSUNAGU.recordedBy, _iri(did)))
        for span in exchange.transfers:
            activity = _iri(span.transfer)
            graph.add((activity, RDF.type, PROV.Activity))
            graph.add((activity, PROV.used, dataset))
            graph.add((activity, PROV.wasAssociatedWith, provider))
            graph.add((activity, PROV.wasAssociatedWith, consumer))
            graph.add((activity, TSUNAGU.underAgreement, agreement))
            graph.add((activity, TSUNAGU.recordedBy, _iri(span.recorded_by)))
            if span.started:
                graph.add((activity, PROV.startedAtTime, _time(span.started)))
            if span.ended:
                graph.add((activity, PROV.endedAtTime, _time(span.ended)))
                graph.add((activity, TSUNAGU.outcome, Literal(span.outcome)))
    return graph.serialize(format="turtle")
