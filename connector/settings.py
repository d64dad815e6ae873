"""A participant's configuration, kept as `tsunagu.toml` in its directory."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from connector.control.hold_rules import HoldSettings, load_hold_settings
from connector.errors import ConfigError
from connector.outbound.policy import (
    DEFAULT_DEADLINE_SECONDS,
    DEFAULT_MAX_RESPONSE_BYTES,
    AllowList,
)

CONFIG_FILE = "tsunagu.toml"
DSP_PATH = "/dsp/2025-1"
DATABASE_ENV = "TSUNAGU_DATABASE_URL"


@dataclass(frozen=True)
class Settings:
    directory: Path
    name: str
    did: str
    host: str
    port: int
    management_token: str
    bind: str = "127.0.0.1"
    dev_mode: bool = False
    scheme: str = "https"
    database_url: str | None = None
    trusted_authorities: tuple[str, ...] = ()
    credential_file: str = "credential.jwt"
    max_body_bytes: int = 1024 * 1024
    # Requests on a peer's word (docs/outbound.md): internal partners at non-public
    # addresses, by host name or CIDR, and the default deadline and answer size of a fetch.
    outbound_allow: tuple[str, ...] = ()
    outbound_deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
    outbound_max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    # The console's flood dashboard: [[dashboard.feeds]] dataset, mapping, stations
    # (paths relative to the participant directory; docs/console.md).
    dashboard_feeds: tuple[dict[str, Any], ...] = ()
    # Which contract and transfer steps wait for the operator (docs/holds.md): [provider],
    # [consumer] with [[consumer.accept]] rules, and [holds] webhook.
    holds: HoldSettings = field(default_factory=HoldSettings)
    # The audit log (docs/audit.md): auditors (DIDs, with an `auditor` credential) allowed to
    # read it, and a checkpoint signed every so many seconds / entries (0: on demand only).
    audit_auditors: tuple[str, ...] = ()
    audit_checkpoint_seconds: float = 0.0
    audit_checkpoint_entries: int = 0
    # The federated catalogue (docs/catalog.md): peers harvested besides those the trusted
    # authorities list ("DID" or "DID=DSP base URL"), and how often (None: only on request).
    catalog_peers: tuple[str, ...] = ()
    catalog_harvest_seconds: float | None = None
    # HTTPS serving ([tls]): certificate chain and key, PEM, relative to the directory.
    tls_certificate: str | None = None
    tls_key: str | None = None
    # The console's OpenID Connect login ([console.oidc]: issuer, client_id, client_secret and
    # who is an operator); checked when the console starts (connector/console/oidc.py).
    console_oidc: dict[str, Any] | None = None

    @property
    def public_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def dsp_base(self) -> str:
        return self.public_url + DSP_PATH

    @property
    def callback_address(self) -> str:
        """Where providers reach us as consumer: the DSP base itself (see api.protocol)."""
        return self.dsp_base

    @property
    def database(self) -> str:
        """The database URL: the environment wins (tests, several processes), then the config,
        then a SQLite file in the participant directory."""
        return (
            os.environ.get(DATABASE_ENV)
            or self.database_url
            or f"sqlite:///{self.directory / 'tsunagu.db'}"
        )

    @property
    def credential_path(self) -> Path:
        return self.directory / self.credential_file

    def credential(self) -> str:
        try:
            return self.credential_path.read_text().strip()
        except FileNotFoundError:
            raise ConfigError(
                f"no membership credential at {self.credential_path}; ask the dataspace "
                "authority for one (`tsunagu authority issue ... --output` that file)",
                code="credential_missing",
            ) from None


def load_settings(directory: Path) -> Settings:
    path = directory / CONFIG_FILE
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path} not found; create a participant with `tsunagu init`") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        p = data["participant"]
        outbound = data.get("outbound", {})
        allow = tuple(str(entry) for entry in outbound.get("allow", []))
        AllowList.parse(allow)  # a bad entry is the operator's to fix, now, not at first use
        return Settings(
            directory=directory.resolve(),
            name=p["name"],
            did=p["did"],
            host=p["host"],
            port=int(p["port"]),
            bind=p.get("bind", "127.0.0.1"),
            dev_mode=bool(p.get("dev_mode", False)),
            scheme=p.get("scheme", "http" if p.get("dev_mode") else "https"),
            management_token=data["management"]["token"],
            database_url=data.get("database", {}).get("url"),
            trusted_authorities=tuple(data.get("trust", {}).get("authorities", [])),
            credential_file=data.get("trust", {}).get("credential", "credential.jwt"),
            max_body_bytes=int(data.get("limits", {}).get("max_body_bytes", 1024 * 1024)),
            outbound_allow=allow,
            outbound_deadline_seconds=float(
                outbound.get("deadline_seconds", DEFAULT_DEADLINE_SECONDS)
            ),
            outbound_max_response_bytes=int(
                outbound.get("max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES)
            ),
            dashboard_feeds=tuple(dict(f) for f in data.get("dashboard", {}).get("feeds", [])),
            holds=load_hold_settings(data, where=str(path)),
            audit_auditors=tuple(str(d) for d in data.get("audit", {}).get("auditors", [])),
            audit_checkpoint_seconds=float(data.get("audit", {}).get("checkpoint_seconds", 0)),
            audit_checkpoint_entries=int(data.get("audit", {}).get("checkpoint_entries", 0)),
            catalog_peers=tuple(str(p) for p in data.get("catalog", {}).get("peers", [])),
            catalog_harvest_seconds=_positive(data.get("catalog", {}).get("harvest_every_seconds")),
            tls_certificate=data.get("tls", {}).get("certificate"),
            tls_key=data.get("tls", {}).get("key"),
            console_oidc=data.get("console", {}).get("oidc"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: missing or invalid setting {exc}") from None


def _positive(value: Any) -> float | None:
    if value is None:
        return None
    seconds = float(value)
    if seconds <= 0:
        raise ValueError("catalog.harvest_every_seconds must be positive")
    return seconds


def write_settings(settings: Settings) -> Path:
    data: dict[str, Any] = {
        "participant": {
            "name": settings.name,
            "did": settings.did,
            "host": settings.host,
            "port": settings.port,
            "bind": settings.bind,
            "dev_mode": settings.dev_mode,
            "scheme": settings.scheme,
        },
        "management": {"token": settings.management_token},
        "trust": {
            "authorities": list(settings.trusted_authorities),
            "credential": settings.credential_file,
        },
        "limits": {"max_body_bytes": settings.max_body_bytes},
        "outbound": {
            "allow": list(settings.outbound_allow),
            "deadline_seconds": settings.outbound_deadline_seconds,
            "max_response_bytes": settings.outbound_max_response_bytes,
        },
        "audit": {
            "auditors": list(settings.audit_auditors),
            "checkpoint_seconds": settings.audit_checkpoint_seconds,
            "checkpoint_entries": settings.audit_checkpoint_entries,
        },
    }
    if settings.database_url:
        data["database"] = {"url": settings.database_url}
    if settings.dashboard_feeds:
        data["dashboard"] = {"feeds": [dict(f) for f in settings.dashboard_feeds]}
    data.update(settings.holds.to_toml())
    if settings.catalog_peers or settings.catalog_harvest_seconds:
        data["catalog"] = {"peers": list(settings.catalog_peers)}
        if settings.catalog_harvest_seconds:
            data["catalog"]["harvest_every_seconds"] = settings.catalog_harvest_seconds
    if settings.tls_certificate:
        data["tls"] = {"certificate": settings.tls_certificate, "key": settings.tls_key}
    if settings.console_oidc:
        data["console"] = {"oidc": dict(settings.console_oidc)}
    path = settings.directory / CONFIG_FILE
    # It holds the management token: 0600 from its first byte.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(tomli_w.dumps(data))
    path.chmod(0o600)
    return path
