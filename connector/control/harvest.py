"""The federated catalogue: harvesting the catalogues of every participant we know.

Peers come from the authorities' signed participant lists (`connector.identity.participants`)
or are named by the operator. All are harvested at once, each under its own bounds: a total
deadline (connect, every page, every retry), a byte budget across its pages, and retries with
exponential backoff for failures that may pass (unreachable, 5xx, deadline). A peer that is
slow, silent or sends gigabytes costs only its own budget; the others go on.

Incremental: each dataset's JSON is hashed; an entry whose hash we already hold is neither
parsed nor written, and a catalogue whose hashes all match writes nothing but the peer's
"last seen". A failed harvest keeps the last good copy and records why (`failure_code`).
Every outcome is an event, written in the transaction that applies it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio
import httpx

from catalog.errors import CatalogError
from catalog.filters import fold
from catalog.model import text_in
from catalog.summary import summarise
from connector.clock import Clock
from connector.control.catalog import checked_catalog
from connector.errors import ConnectorError, PeerError
from connector.identity.did import DidResolver, did_web_document_url
from connector.identity.errors import IdentityError
from connector.identity.participants import ListedParticipant, verify_participants
from connector.outbound import OutboundPolicy
from connector.outbound.errors import ResponseTooLarge
from connector.outbound.reading import fetch
from connector.store import catalog_queries as q
from connector.store.catalog_tables import HarvestPeerRow
from connector.store.store import Store
from connector.store.tables import EventRow

log = logging.getLogger("tsunagu.harvest")
DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
# connection refused or reset (`peer_unreachable`), 5xx, a request past its deadline may pass
_RETRYABLE = ("peer_unreachable", "peer_unavailable", "outbound_deadline_exceeded")
MAX_PAGES = 1000


@dataclass(frozen=True)
class PeerSource:
    did: str
    address: str  # its DSP base
    name: str = ""


@dataclass(frozen=True)
class Bounds:
    deadline: float = 30.0  # seconds per peer, all pages and retries included
    max_bytes: int = 64 * 1024 * 1024  # per peer, all pages
    attempts: int = 3
    backoff: float = 0.5  # first retry after this, then doubling
    concurrency: int = 16
    page_size: int = 1000


@dataclass(frozen=True)
class PeerOutcome:
    did: str
    ok: bool
    entries: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    failure_code: str | None = None
    failure: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class _Fetched:
    header: dict[str, Any]
    datasets: list[dict[str, Any]] = field(default_factory=list)


Progress = Callable[[PeerOutcome], Awaitable[None] | None]


class Harvester:
    def __init__(
        self,
        store: Store,
        http: httpx.AsyncClient,
        outbound: OutboundPolicy,
        token_for: Callable[[str], str],
        clock: Clock,
        *,
        resolver: DidResolver,
        own_did: str,
        bounds: Bounds | None = None,
    ) -> None:
        self.store = store
        self.http = http
        self.outbound = outbound
        self.token_for = token_for
        self.clock = clock
        self.resolver = resolver
        self.own_did = own_did
        self.bounds = bounds or Bounds()

    # -- who to harvest ----------------------------------------------------------------------

    async def listed(self, authority: str) -> list[PeerSource]:
        """The participants an authority lists (signature, issuer and expiry checked), without
        ourselves."""
        base = did_web_document_url(authority, dev_mode=self.outbound.dev_mode)
        url = base.removesuffix("/.well-known/did.json") + "/participants"
        response = await fetch(
            self.http,
            self.outbound,
            "GET",
            url,
            max_bytes=4 * 1024 * 1024,
            what="the authority's participant list",
        )
        if response.status != 200:
            raise PeerError(f"{url} answered {response.status}", code="participants_unavailable")
        try:
            listed = await verify_participants(
                response.body.decode("ascii", "replace"),
                authority=authority,
                resolver=self.resolver,
                now=self.clock(),
            )
        except IdentityError as exc:
            raise PeerError(f"the participant list of {authority}: {exc}", code=exc.code) from exc
        return [_source(p) for p in listed if p.did != self.own_did]

    # -- harvesting --------------------------------------------------------------------------

    async def harvest(
        self, peers: Sequence[PeerSource], progress: Progress | None = None
    ) -> list[PeerOutcome]:
        """Harvest every peer concurrently; each outcome is reported as it is known."""
        gate = asyncio.Semaphore(self.bounds.concurrency)

        async def one(peer: PeerSource) -> PeerOutcome:
            async with gate:
                outcome = await self._peer(peer)
            if progress is not None:
                result = progress(outcome)
                if result is not None:
                    await result
            return outcome

        unique = list({p.did: p for p in peers}.values())
        return list(await asyncio.gather(*(one(p) for p in unique)))

    async def _peer(self, peer: PeerSource) -> PeerOutcome:
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.bounds.deadline):
                fetched = await self._with_retries(peer)
            # a thread even on SQLite: indexing thousands of entries must not stall the loop
            outcome = await anyio.to_thread.run_sync(self._apply, peer, fetched, started)
        except TimeoutError:
            outcome = await self._failed(
                peer,
                "harvest_deadline",
                f"no complete answer within {self.bounds.deadline:g} s",
                started,
            )
        except (ConnectorError, CatalogError) as exc:
            outcome = await self._failed(peer, exc.code, str(exc)[:2000], started)
        return outcome

    async def _with_retries(self, peer: PeerSource) -> _Fetched:
        delay = self.bounds.backoff
        for attempt in range(1, self.bounds.attempts + 1):
            try:
                return await self._fetch(peer)
            except PeerError as exc:
                if exc.code not in _RETRYABLE or attempt == self.bounds.attempts:
                    raise
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    async def _fetch(self, peer: PeerSource) -> _Fetched:
        """Every page of the peer's catalogue (following `Link: rel="next"`), within budget."""
        budget = self.bounds.max_bytes
        url: str | None = (
            f"{peer.address.rstrip('/')}/catalog/request?limit={self.bounds.page_size}"
        )
        body = {"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage"}
        result: _Fetched | None = None
        pages = 0
        while url is not None:
            pages += 1
            if pages > MAX_PAGES:
                raise PeerError(
                    f"{peer.did} sent more than {MAX_PAGES} pages", code="too_many_pages"
                )
            try:
                response = await fetch(
                    self.http,
                    self.outbound,
                    "POST",
                    url,
                    headers={"Authorization": f"Bearer {self.token_for(peer.did)}"},
                    json=body,
                    max_bytes=budget,
                    deadline=self.bounds.deadline,
                    what=f"the catalogue of {peer.did}",
                )
            except ResponseTooLarge as exc:
                raise PeerError(
                    f"{peer.did}'s catalogue is larger than {self.bounds.max_bytes} bytes",
                    code="catalog_too_large",
                ) from exc
            budget -= len(response.body)
            if response.status >= 500 or response.status in (408, 429):
                raise PeerError(f"{url} answered {response.status}", code="peer_unavailable")
            if response.status >= 400:
                raise PeerError(f"{url} answered {response.status}", code="peer_rejected")
            try:
                data = json.loads(response.body)
            except (ValueError, RecursionError) as exc:
                raise PeerError(f"{url} did not answer with JSON", code="invalid_catalog") from exc
            if not isinstance(data, dict):
                raise PeerError(f"{url} did not answer with a Catalog", code="invalid_catalog")
            datasets = data.pop("dataset", [])
            if not isinstance(datasets, list) or not all(isinstance(d, dict) for d in datasets):
                raise PeerError(
                    f"{url}: `dataset` is not a list of objects", code="invalid_catalog"
                )
            if result is None:
                checked_catalog(data, provider_did=peer.did, dsp_base=peer.address)
                result = _Fetched(data)
            result.datasets.extend(datasets)
            url = _next_link(response.headers.get("link", ""), base=peer.address)
        assert result is not None
        return result

    def _apply(self, peer: PeerSource, fetched: _Fetched, started: float) -> PeerOutcome:
        now = self.clock()
        hashed = [(*_canonical(d), d) for d in fetched.datasets]
        catalog_hash = hashlib.sha256(
            "".join(sorted(h for h, _c, _d in hashed)).encode()
        ).hexdigest()
        with self.store.transaction() as tx:
            row = q.peer(tx.session, peer.did) or HarvestPeerRow(did=peer.did, address=peer.address)
            if row.catalog_hash == catalog_hash:
                changed: list[q.Harvested] = []
                removed: list[int] = []
                unchanged = len(hashed)
            else:
                held = q.hashes(tx.session, peer.did)
                seen: set[str] = set()
                changed = []
                for digest, canonical, data in hashed:
                    dataset_id = data.get("@id")
                    if not isinstance(dataset_id, str) or dataset_id in seen:
                        raise PeerError(
                            f"{peer.did}'s catalogue has a dataset without an id or twice",
                            code="invalid_catalog",
                        )
                    seen.add(dataset_id)
                    if held.get(dataset_id, (0, ""))[1] != digest:
                        changed.append(_indexed(peer, digest, canonical, data))
                removed = [rid for did_, (rid, _h) in held.items() if did_ not in seen]
                unchanged = len(hashed) - len(changed)
                q.replace_harvest(tx.session, peer.did, changed=changed, removed=removed, held=held)
            row.name = peer.name or row.name
            row.address = peer.address
            row.catalog_hash = catalog_hash
            row.entries = len(hashed)
            row.last_attempt_at = row.last_seen_at = now
            row.failure_code = row.failure = None
            q.mark_peer(tx.session, row)
            if changed or removed:
                tx.add(
                    _event(
                        now,
                        peer.did,
                        "CatalogHarvested",
                        {"changed": len(changed), "removed": len(removed)},
                    )
                )
        return PeerOutcome(
            peer.did,
            True,
            len(hashed),
            len(changed),
            len(removed),
            unchanged,
            seconds=time.monotonic() - started,
        )

    async def _failed(
        self, peer: PeerSource, code: str, message: str, started: float
    ) -> PeerOutcome:
        now = self.clock()

        def record() -> None:
            with self.store.transaction() as tx:
                row = q.peer(tx.session, peer.did) or HarvestPeerRow(
                    did=peer.did, address=peer.address
                )
                row.name = peer.name or row.name
                row.last_attempt_at = now
                row.failure_code, row.failure = code, message
                q.mark_peer(tx.session, row)  # its entries stay: the last good copy
                tx.add(_event(now, peer.did, "CatalogHarvestFailed", {"code": code}))

        await self.store.call(record)
        return PeerOutcome(
            peer.did, False, failure_code=code, failure=message, seconds=time.monotonic() - started
        )


async def plan(
    harvester: Harvester,
    *,
    named: Sequence[tuple[str, str | None]],
    configured: Sequence[str],
    authorities: Sequence[str],
    use_authorities: bool,
    base_of: Callable[[str], Awaitable[str]],
) -> list[PeerSource]:
    """Who to harvest: the peers named (DID, DSP base or None to find it from the DID),
    else the configured ones (`DID` or `DID=URL`) and those our authorities list."""
    wanted = list(named)
    if not named:
        for entry in configured:
            did, _, address = entry.partition("=")
            wanted.append((did, address or None))
    sources = [PeerSource(did, address or await base_of(did)) for did, address in wanted]
    if use_authorities:
        for authority in authorities:
            try:
                sources.extend(await harvester.listed(authority))
            except ConnectorError as exc:
                raise PeerError(
                    f"cannot read the participant list of {authority}: {exc}", code=exc.code
                ) from exc
    return sources


def harvester_for(connector: Any, bounds: Bounds) -> Harvester:
    """A harvester on a connector's store, HTTP client, outbound policy and identity."""
    return Harvester(
        connector.store,
        connector.http,
        connector.outbound,
        connector.dispatcher.token_for,
        connector.clock,
        resolver=connector.resolver,
        own_did=connector.did,
        bounds=bounds,
    )


async def sources_for(
    connector: Any,
    harvester: Harvester,
    *,
    named: Sequence[tuple[str, str | None]] = (),
    use_authorities: bool = True,
) -> list[PeerSource]:
    """`plan` with the connector's settings: configured peers and trusted authorities."""
    from connector.control.peers import provider_base

    async def base_of(did: str) -> str:
        return await provider_base(connector.resolver, connector.outbound, did)

    return await plan(
        harvester,
        named=named,
        configured=connector.settings.catalog_peers,
        authorities=connector.settings.trusted_authorities,
        use_authorities=use_authorities,
        base_of=base_of,
    )


async def harvest_round(connector: Any) -> list[PeerOutcome]:
    """One harvest as configured (what the periodic refresh runs)."""
    harvester = harvester_for(connector, Bounds())
    return await harvester.harvest(await sources_for(connector, harvester))


async def harvest_forever(
    run: Callable[[], Awaitable[Sequence[PeerOutcome]]], every: float
) -> None:
    """The periodic refresh (`[catalog] harvest_every_seconds`): a failed round is logged
    and the next one comes all the same."""
    while True:
        try:
            outcomes = await run()
            failed = [o for o in outcomes if not o.ok]
            log.info("harvested %d peer(s), %d failed", len(outcomes), len(failed))
        except (ConnectorError, CatalogError) as exc:
            log.warning("harvest round failed: %s [%s]", exc, exc.code)
        await asyncio.sleep(every)


def _source(p: ListedParticipant) -> PeerSource:
    return PeerSource(p.did, p.address, p.name)


def _event(now: datetime, peer: str, message: str, detail: dict[str, Any]) -> EventRow:
    return EventRow(
        at=now,
        process="catalog",
        process_id=peer,
        role="consumer",
        direction="inbound",
        message=message,
        from_state=None,
        to_state="HARVESTED" if "Failed" not in message else "FAILED",
        peer_did=peer,
        detail=detail,
    )


def _canonical(data: dict[str, Any]) -> tuple[str, str]:
    """The entry's canonical JSON (sorted keys) and its hash: stored and compared as is."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest(), canonical


def _next_link(header: str, *, base: str) -> str | None:
    """The `rel="next"` target of a Link header; only on the peer's own DSP base."""
    for part in header.split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
            url = target.strip().removeprefix("<").removesuffix(">")
            if not url.startswith(base.rstrip("/") + "/catalog/request"):
                raise PeerError(f"a next page outside {base}: {url}", code="invalid_catalog")
            return url
    return None


def _indexed(peer: PeerSource, digest: str, canonical: str, data: dict[str, Any]) -> q.Harvested:
    """What search needs of one dataset (read only when new or changed)."""
    try:
        d = summarise(data)
    except CatalogError as exc:
        raise PeerError(
            f"{peer.did}'s catalogue is not valid: {exc}", code="invalid_catalog"
        ) from exc
    texts = [t.value for t in (*d.title, *d.description, *d.keywords)]
    publisher_name = text_in(d.publisher_name, "ja")
    terms: list[tuple[str, str]] = [("theme", t) for t in d.themes]
    terms += [("place", p) for p in d.places]
    terms += [("format", f) for f in d.formats]
    terms += [("publisher", peer.did)]
    if d.publisher:
        terms.append(("publisher", d.publisher))
    return q.Harvested(
        dataset_id=d.id,
        content_hash=digest,
        title=text_in(d.title, "ja") or d.id,
        title_en=text_in(d.title, "en") or "",
        publisher=publisher_name or peer.name or peer.did,
        search_text=fold(" ".join(texts + ([publisher_name] if publisher_name else []))),
        period_start=d.start,
        period_end=d.end,
        document=canonical,
        terms=tuple(terms),
    )
