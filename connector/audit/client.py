"""Read a connector's audit API and verify what it serves (`verifier.verify_log`)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import httpx

from connector.audit.checkpoint import Checkpoint, NoteVerifier, verify_checkpoint
from connector.audit.errors import AuditError
from connector.audit.verifier import Report, ServedEntry, verify_log
from connector.errors import PeerError

__all__ = ["AuditReader", "verify_connector"]

_PAGE = 1000


def _unb64(value: Any) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except binascii.Error as exc:
        raise PeerError(f"the audit API served bad base64: {exc}", code="audit_bad_reply") from exc


class AuditReader:
    def __init__(self, http: httpx.AsyncClient, base_url: str, token: str) -> None:
        self.http = http
        self.base = base_url.rstrip("/") + "/audit"
        self.headers = {"Authorization": f"Bearer {token}"}

    async def _get(self, path: str, **params: Any) -> Any:
        try:
            response = await self.http.get(self.base + path, params=params, headers=self.headers)
        except httpx.HTTPError as exc:
            raise PeerError(f"cannot read {self.base}{path}: {exc}") from exc
        if response.status_code != 200:
            raise PeerError(
                f"{self.base}{path} answered {response.status_code}: {response.text[:200]}",
                code="audit_bad_reply",
            )
        return response.json()

    async def checkpoint_note(self) -> str:
        return str((await self._get("/checkpoint"))["note"])

    async def entries(self) -> tuple[int, list[ServedEntry]]:
        served: list[ServedEntry] = []
        start: int | None = 0
        tree_size = 0
        while start is not None:
            page = await self._get("/entries", start=start, limit=_PAGE)
            tree_size = max(tree_size, int(page["tree_size"]))
            for item in page["entries"]:
                leaf = item.get("leaf_hash")
                served.append(
                    ServedEntry(int(item["seq"]), str(item["body"]), leaf and _unb64(leaf))
                )
            start = page["next"]
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
    return report
