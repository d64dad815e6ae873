"""Creating a participant directory: keys, DID, config and database."""

from __future__ import annotations

import secrets
from pathlib import Path

from connector.errors import ConfigError
from connector.identity.did import did_web
from connector.identity.keys import KeyRing
from connector.settings import CONFIG_FILE, Settings, write_settings
from connector.store.database import build_engine
from connector.store.migrate import upgrade


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
    directory.mkdir(parents=True, exist_ok=True)
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
    engine = build_engine(settings.database)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return settings
