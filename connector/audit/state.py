"""What an auditor remembers between runs: the last checkpoint it verified of each log.

Kept as a small JSON file (`{"origin": {"note": ...}}`); the next run checks that each log's
new checkpoint is consistent with it, so a log cut back, forked or replaying an old
checkpoint is caught even when everything it serves now is self-consistent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from connector.audit.checkpoint import Checkpoint, NoteVerifier, verify_checkpoint
from connector.audit.errors import AuditError

__all__ = ["load_state", "save_state"]


def load_state(path: Path) -> dict[str, str]:
    """origin -> signed note; an unreadable file is an error, not a fresh start (it would
    let a log that was cut back pass)."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        message = f"cannot read the audit state {path}: {exc}"
        raise AuditError(message, code="state_unreadable") from exc
    if not isinstance(data, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("note"), str) for v in data.values()
    ):
        raise AuditError(f"{path} is not an audit state file", code="state_unreadable")
    return {str(origin): str(v["note"]) for origin, v in data.items()}


def previous_checkpoints(
    state: Mapping[str, str], trusted: Mapping[str, Sequence[NoteVerifier]]
) -> dict[str, Checkpoint]:
    """The remembered checkpoints of the logs verified now. Each was verified when it was
    remembered; one signed by a key the log no longer publishes (rotated out since) still
    counts: dropping it would let a log escape the consistency check by rotating its key."""
    out = {}
    for origin, note in state.items():
        verifiers = trusted.get(origin)
        if verifiers is None:
            continue
        try:
            out[origin] = verify_checkpoint(note, origin, verifiers)
        except AuditError as exc:
            if exc.code != "note_unknown_key":
                raise AuditError(
                    f"the remembered checkpoint of {origin} does not verify: {exc}",
                    code="state_unreadable",
                ) from exc
            out[origin] = _unverified(note, origin)
    return out


def _unverified(note: str, origin: str) -> Checkpoint:
    try:
        checkpoint = Checkpoint.parse(note[: note.rfind("\n\n") + 1])
    except AuditError as exc:
        message = f"the remembered checkpoint of {origin} is damaged: {exc}"
        raise AuditError(message, code="state_unreadable") from exc
    if checkpoint.origin != origin:
        raise AuditError(f"the remembered checkpoint is not of {origin}", code="state_unreadable")
    return checkpoint


def save_state(path: Path, state: Mapping[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({o: {"note": n} for o, n in sorted(state.items())}, indent=2))
    os.replace(tmp, path)
