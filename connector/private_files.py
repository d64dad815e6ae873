"""A participant's private files: keys, database, credential and config are readable by its
owner only (0600, in a 0700 directory), from the moment they exist. `serve` checks again,
since a copy or an unpack can loosen them later."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connector.settings import Settings

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
SQLITE_FILE = "tsunagu.db"


def private_directory(path: Path) -> None:
    """Create `path` (and parents) if need be, and make it the owner's alone."""
    path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIRECTORY_MODE)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, created 0600 (never readable by others, even for a moment)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, FILE_MODE)  # an existing file keeps its mode through O_CREAT


def touch_private(path: Path) -> None:
    """Create an empty 0600 file if none is there (SQLite then keeps the mode, and gives its
    -wal and -shm files the same)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)


def private_paths(settings: Settings) -> list[Path]:
    """The participant's files that must stay private (those that exist)."""
    from connector.settings import CONFIG_FILE

    directory = settings.directory
    candidates = [directory / CONFIG_FILE, settings.credential_path]
    keys = directory / "keys"
    if keys.is_dir():
        candidates += [keys, *sorted(keys.glob("*.pem"))]
    if settings.database.startswith("sqlite") and SQLITE_FILE in settings.database:
        db = directory / SQLITE_FILE
        candidates += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    return [p for p in candidates if p.exists()]


def loose_permissions(settings: Settings) -> list[str]:
    """One line per private file or directory that others can read or enter, with its fix."""
    problems = []
    for path in [settings.directory, *private_paths(settings)]:
        wanted = DIRECTORY_MODE if path.is_dir() else FILE_MODE
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            problems.append(
                f"{path} is mode {mode:o}: others may read it; run: chmod {wanted:o} {path}"
            )
    return problems
