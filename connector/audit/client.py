"""Read a connector's audit API and verify what it serves (`verifier.verify_log`)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from connector.audit.checkpoint import Checkpoint, NoteVerifier, verify_checkpoint
from connector.audit.crosscheck import LogView, cross_check
from connector.audit.errors import AuditError
from connector.audit.export import Export
from connector.audit.key_rotation import announced_verifiers
from connector.audit.merkle import MemoryTree, leaf_hash
from connector.audit.verifier import Report, ServedEntry, verify_log
from connector.errors import PeerError

__all__ = ["AuditReader", "read_and_verify", "verify_connector", "verify_connectors"]

Progress = Callable[[int, int], None]  # (entries read so far, entries in the log)

_PAGE = 1000
# Findings after which a log's own entries cannot vouch for keys.
_UNTRUSTWORTHY = frozenset(
    {
        "checkpoint_invalid",
        "entry_missing",
        "entry_duplicate",
        "entry_altered",
        "entry_out_of_place",
        "entry_malformed",
        "entry_not_canonical",
        "root_mismatch",
        "inclusion_failed",
        "history_rewritten",
        "fork",
        "inconsistent",
        "key_rotation_broken",
        "key_rotation_malformed",
        "checkpoint_key_unannounced",
    }
)


def _unb64(value: Any) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except binascii.Error as exc:
        raise PeerError(f"the audit API served bad base64: {exc}", code="audit_bad_reply") from exc


class AuditReader:
    def __init__(
        self, http: httpx.AsyncClient, base_url: str, token: str | Callable[[], str]
    ) -> None:
        """`token`: the management token, or a function making a fresh auditor ID token for
        each request (a token is good for one request: the replay cache refuses a second)."""
        self.http = http
        self.base = base_url.rstrip("/") + "/audit"
        self.token = token
        self.progress: Progress | None = None

    async def _get(self, path: str, **params: Any) -> Any:
        token = self.token if isinstance(self.token, str) else self.token()
        headers = {"Authorization": f"Bearer {token}"}
        try:
            response = await self.http.get(self.base + path, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise PeerError(f"cannot read {self.base}{path}: {exc}") from exc
        if response.status_code != 200:
            raise PeerError(
                f"{self.base}{path} answered {response.status_code}: {response.text[:200]}",
                code="audit_bad_reply",
            )
        try:
            return response.json()
        except (ValueError, RecursionError) as exc:
            message = f"{self.base}{path} did not answer JSON"
            raise PeerError(message, code="audit_bad_reply") from exc

    async def fresh_checkpoint(self) -> tuple[str, list[str]]:
        """A checkpoint of the log as it is now (signed on request) and its published keys."""
        token = self.token if isinstance(self.token, str) else self.token()
        try:
            response = await self.http.post(
                self.base + "/checkpoint", headers={"Authorization": f"Bearer {token}"}
            )
            body = response.json()
            if response.status_code != 201:
                raise PeerError(
                    f"{self.base}/checkpoint answered {response.status_code}",
                    code="audit_bad_reply",
                )
            return str(body["note"]), [str(v) for v in body["vkeys"]]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise PeerError(f"cannot sign a checkpoint at {self.base}: {exc}") from exc

    async def cosignatures(self) -> list[tuple[int, bytes, str, str]]:
        """(size, root, witness, signature line) of the cosignatures the log serves."""
        body = await self._get("/cosignatures")
        try:
            return [
                (int(c["size"]), _unb64(c["root"]), str(c["witness"]), str(c["cosignature"]))
                for c in body["cosignatures"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise PeerError(f"malformed cosignatures: {exc}", code="audit_bad_reply") from exc

    async def checkpoint_note(self) -> str:
        return str((await self._get("/checkpoint"))["note"])

    async def entries(self) -> tuple[int, list[ServedEntry]]:
        served: list[ServedEntry] = []
        start: int | None = 0
        tree_size = 0
        while start is not None:
            page = await self._get("/entries", start=start, limit=_PAGE)
            try:
                tree_size = max(tree_size, int(page["tree_size"]))
                for item in page["entries"]:
                    leaf = item.get("leaf_hash")
                    served.append(
                        ServedEntry(int(item["seq"]), str(item["body"]), leaf and _unb64(leaf))
                    )
                start = page["next"]
                if start is not None and (not isinstance(start, int) or start <= served[-1].seq):
                    raise ValueError("the next page does not move forward")
            except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                raise PeerError(
                    f"{self.base}/entries served a malformed page: {exc}", code="audit_bad_reply"
                ) from exc
            if self.progress is not None:
                self.progress(len(served), tree_size)
        return tree_size, served

    async def inclusion(self, seq: int, tree_size: int) -> list[bytes]:
        reply = await self._get(f"/entries/{seq}/inclusion", tree_size=tree_size)
        return [_unb64(h) for h in reply["proof"]]

    async def consistency(self, old: int, new: int) -> list[bytes]:
        return [_unb64(h) for h in (await self._get("/consistency", old=old, new=new))["proof"]]


async def verify_connector(
    reader: AuditReader,
    *,
    origin: str,
    verifiers: list[NoteVerifier],
    previous: Checkpoint | None = None,
) -> Report:
    """Verify the whole log against its latest checkpoint (and `previous`, if given).

    When the entries do not add up to the signed root, every entry's inclusion proof is
    fetched so the report names the entries that no longer fit."""
    report, _entries = await read_and_verify(
        reader, origin=origin, verifiers=verifiers, previous=previous
    )
    return report


async def verify_connectors(
    logs: Sequence[tuple[str, AuditReader, list[NoteVerifier]]],
    *,
    previous: dict[str, Checkpoint] | None = None,
    exports: Sequence[tuple[str, Export, list[NoteVerifier]]] = (),
) -> list[LogView]:
    """Verify several connectors' logs (did, reader, its verifier keys) and exported logs
    one by one, then across each other (`crosscheck`): the reports are in the views, the
    connectors' in the order given, then the exports'."""
    from connector.audit.checkpoint import origin_for

    views = []
    for did, reader, verifiers in logs:
        origin = origin_for(did)
        # Before the checkpoint: every cosignature then covers a size it has reached.
        cosignatures = await reader.cosignatures()
        report, entries = await read_and_verify(
            reader,
            origin=origin,
            verifiers=verifiers,
            previous=(previous or {}).get(origin),
        )
        view = view_of(did, origin, verifiers, report, entries)
        view.cosignatures = cosignatures
        views.append(view)
    for did, export, verifiers in exports:
        origin = origin_for(did)
        before = (previous or {}).get(origin)
        report = verify_log(
            origin=origin,
            verifiers=verifiers,
            note=export.note,
            entries=export.entries,
            inclusion=export.proofs,
            previous=before,
            consistency=_consistency_of(export, before),
        )
        if export.origin != origin:
            report.add("checkpoint_invalid", f"the export is of {export.origin}, not {origin}")
        views.append(view_of(did, origin, verifiers, report, export.entries))
    cross_check(views)
    return views


def _consistency_of(export: Export, before: Checkpoint | None) -> list[bytes] | None:
    """An export has every entry, so the proof from an earlier size is made from them (and
    still has to meet both signed roots)."""
    ordered = sorted(export.entries, key=lambda e: e.seq)
    if before is None or not ordered or [e.seq for e in ordered] != list(range(len(ordered))):
        return None
    if not 0 < before.size < len(ordered):
        return None
    tree = MemoryTree(leaf_hash(e.body.encode()) for e in ordered)
    return tree.consistency_proof(before.size, len(ordered))


def view_of(
    did: str,
    origin: str,
    verifiers: Sequence[NoteVerifier],
    report: Report,
    entries: Sequence[ServedEntry],
) -> LogView:
    size = report.checkpoint.size if report.checkpoint is not None else 0
    bodies = {e.seq: e.body for e in entries if e.seq < size}
    parsed = {}
    for seq, body in bodies.items():
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            parsed[seq] = value
    # Older checkpoints (in receipts, cosignatures) may be signed by keys the DID document no
    # longer publishes; the log's own rotation entries name them.
    keys = list(verifiers)
    if not any(f.code in _UNTRUSTWORTHY for f in report.findings):
        keys += [v for v in announced_verifiers(origin, parsed, size) if v not in keys]
    return LogView(did, origin, keys, bodies, parsed, size, report)


async def read_and_verify(
    reader: AuditReader,
    *,
    origin: str,
    verifiers: list[NoteVerifier],
    previous: Checkpoint | None = None,
) -> tuple[Report, list[ServedEntry]]:
    """`verify_connector`, also handing back the entries as served."""
    note = await reader.checkpoint_note()
    tree_size, entries = await reader.entries()
    try:
        size = verify_checkpoint(note, origin, verifiers).size
    except AuditError:
        size = None  # verify_log reports it
    consistency = None
    if size is not None and previous is not None and 0 < previous.size < size:
        try:
            consistency = await reader.consistency(previous.size, size)
        except PeerError:
            consistency = []  # the log cannot prove it: reported as inconsistent
    args: dict[str, Any] = {
        "origin": origin,
        "verifiers": verifiers,
        "note": note,
        "entries": entries,
        "tree_size": tree_size,
        "previous": previous,
        "consistency": consistency,
    }
    report = verify_log(**args)
    if size and not report.ok and not any(f.seq is not None for f in report.findings):
        proofs = {}
        for entry in entries:
            if entry.seq < size:
                try:
                    proofs[entry.seq] = await reader.inclusion(entry.seq, size)
                except PeerError:
                    proofs[entry.seq] = []
        report = verify_log(**args, inclusion=proofs)
    return report, entries
