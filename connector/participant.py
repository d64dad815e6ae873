"""Creating a participant directory: keys, DID, config and database; rotating its keys."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from connector.errors import ConfigError
from connector.identity.did import did_web
from connector.identity.keys import KeyRing, SigningKey
from connector.private_files import SQLITE_FILE, private_directory, touch_private
from connector.settings import CONFIG_FILE, Settings, write_settings
from connector.store.database import build_engine
from connector.store.key_queries import record_rotation
from connector.store.migrate import upgrade
from connector.store.store import Store


def init_participant(
    directory: Path,
    *,
    name: str,
    port: int,
    host: str = "localhost",
    dev_mode: bool = False,
    trusted_authorities: tuple[str, ...] = (),
    database_url: str | None = None,
) -> Settings:
    if (directory / CONFIG_FILE).exists():
        raise ConfigError(f"{directory} holds a participant already", code="participant_exists")
    private_directory(directory)
    did = did_web(host, port)
    KeyRing.create(directory, did)
    settings = Settings(
        directory=directory.resolve(),
        name=name,
        did=did,
        host=host,
        port=port,
        dev_mode=dev_mode,
        scheme="http" if dev_mode else "https",
        management_token=secrets.token_urlsafe(32),
        database_url=database_url,
        trusted_authorities=trusted_authorities,
    )
    write_settings(settings)
    if settings.database == f"sqlite:///{settings.directory / SQLITE_FILE}":
        touch_private(settings.directory / SQLITE_FILE)  # before SQLite makes it 0644
    engine = build_engine(settings.database)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return settings


def _raw_public(key: SigningKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def rotate_keys(settings: Settings, *, by: str, now: datetime) -> tuple[str, str]:
    """Make a new active key and record the rotation in the audit log (old key, new key, who
    rotated); returns (old key id, new key id). The key files change first: until the entry
    lands, checkpoints stay signed with the key the log still announces (it stays published)."""
    ring = KeyRing.load(settings.directory, settings.did)
    old = ring.active
    new = ring.rotate()
    engine = build_engine(settings.database)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    store = Store(engine)
    store.own_did = settings.did
    try:
        record_rotation(
            store,
            did=settings.did,
            old=(old.kid, _raw_public(old)),
            new=(new.kid, _raw_public(new)),
            by=by,
            at=now,
        )
    finally:
        store.dispose()  # (SQLite: seals the rotation's entry, left pending by its commit)
    return old.kid, new.kid
