"""`tsunagu backup` / `tsunagu restore`: a participant as one file.

The archive (tar.gz) holds `manifest.json`, the participant directory's files (`tsunagu.toml`,
`keys/`, `credential.jwt`, anything else the operator keeps there) under `participant/`, and
the database: `database/tsunagu.db` (SQLite, an online-backup copy) or `database/rows.jsonl`
(PostgreSQL, a logical dump of the connector's tables). Private keys and the management token
are inside: keep the file like the keys themselves (it is written mode 0600).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from connector.errors import ConfigError
from connector.settings import load_settings
from connector.store import dump

FORMAT = 1
_DB_FILES = {"tsunagu.db", "tsunagu.db-wal", "tsunagu.db-shm"}


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    database: str  # "sqlite" | "postgresql"
    files: int
    rows: dict[str, int]


def backup(directory: Path, output: Path, *, now: datetime) -> BackupSummary:
    settings = load_settings(directory)
    url = settings.database
    kind = "sqlite" if dump.is_sqlite(url) else "postgresql"
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        rows: dict[str, int] = {}
        if kind == "sqlite":
            database = work / "tsunagu.db"
            dump.backup_sqlite(url, database)
        else:
            database = work / "rows.jsonl"
            with database.open("w") as out:
                rows = dump.dump_tables(url, out)
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat(),
            "participant": {"name": settings.name, "did": settings.did},
            "database": kind,
            "rows": rows,
        }
        files = sorted(
            p
            for p in settings.directory.rglob("*")
            if p.is_file() and p.relative_to(settings.directory).parts[0] not in _DB_FILES
        )
        output.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
            for path in files:
                tar.add(
                    path, arcname="participant/" + path.relative_to(settings.directory).as_posix()
                )
            tar.add(database, arcname=f"database/{database.name}")
    return BackupSummary(output, kind, len(files), rows)


def restore(archive: Path, directory: Path, *, database_url: str | None = None) -> BackupSummary:
    """Unpack into DIRECTORY (which must not exist or be empty) and put the database back:
    the SQLite file into the directory, or the rows into `database_url` (default: the URL the
    restored config names, or TSUNAGU_DATABASE_URL), which must be empty."""
    if directory.exists() and any(directory.iterdir()):
        raise ConfigError(f"{directory} is not empty; restore into a new directory")
    try:
        tar = tarfile.open(archive, mode="r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise ConfigError(f"{archive}: not a tsunagu backup ({exc})") from None
    with tar, tempfile.TemporaryDirectory() as scratch:
        tar.extractall(scratch, filter="data")  # no absolute paths, links out or devices
        work = Path(scratch)
        try:
            manifest = json.loads((work / "manifest.json").read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{archive}: no readable manifest ({exc})") from None
        if manifest.get("format") != FORMAT:
            raise ConfigError(f"{archive}: backup format {manifest.get('format')!r} unknown")
        directory.mkdir(parents=True, exist_ok=True)
        files = 0
        for path in sorted((work / "participant").rglob("*")):
            if path.is_file():
                target = directory / path.relative_to(work / "participant")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
                files += 1
        settings = load_settings(directory)
        url = database_url or settings.database
        if database_url and not dump.is_sqlite(database_url):
            _point_config_at(directory, database_url)
        rows: dict[str, int] = {}
        if manifest["database"] == "sqlite":
            source = work / "database" / "tsunagu.db"
            if dump.is_sqlite(url):
                shutil.copy2(source, dump.sqlite_path(url))
            else:  # moving from SQLite to PostgreSQL: through the logical form
                buffer = io.StringIO()
                dump.dump_tables(dump.sqlite_url_of(source), buffer)
                buffer.seek(0)
                rows = dump.load_tables(url, buffer)
        else:
            with (work / "database" / "rows.jsonl").open() as lines:
                if dump.is_sqlite(url):
                    raise ConfigError(
                        "this backup holds a PostgreSQL database: give --database-url"
                    )
                rows = dump.load_tables(url, lines)
    return BackupSummary(directory, manifest["database"], files, rows)


def _point_config_at(directory: Path, url: str) -> None:
    from dataclasses import replace

    from connector.settings import write_settings

    write_settings(replace(load_settings(directory), database_url=url))


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))
