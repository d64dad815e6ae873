"""A dataspace authority kept in a directory: its key, its DID, what it issued and revoked.

    AUTHORITY_DIR/
      authority.toml    name, did, host, port, base_url, status_list_id
      keys/             the authority's key ring (keys.py): keyring.json, key-N.pem (0600)
      registry.json     every credential issued (subject, status index, id) and its revocation
      .lock             taken while registry.json is rewritten, so CLI runs do not race

State is read from disk on every call, so a `tsunagu authority revoke` in another process is
visible to a running server at once. Status indices are drawn at random from the whole list
rather than counted up, so an index does not reveal when or in which order a member joined.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import tomllib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w

from connector.errors import ConfigError, NotFound
from connector.identity.credentials import issue_membership_credential
from connector.identity.did import build_did_document, did_web, did_web_document_url
from connector.identity.encoding import to_iso
from connector.identity.errors import IdentityError
from connector.identity.fetch import LOOPBACK_HOSTS
from connector.identity.keys import KeyRing
from connector.identity.participants import ListedParticipant, default_address, sign_participants
from connector.identity.status_list import MIN_BITS, Bitstring, issue_status_list_credential

__all__ = ["Authority", "IssuedCredential"]

_CONFIG = "authority.toml"
_REGISTRY = "registry.json"
_LOCK = ".lock"
# Credentials of a retired authority key must keep verifying until they expire, so an
# authority keeps every key it ever signed with published.
_RETAIN_ALL = 1_000_000


@dataclass(frozen=True)
class IssuedCredential:
    credential_id: str
    subject: str
    legal_name: str
    role: str
    status_index: int
    issued_at: str
    valid_until: str
    revoked_at: str | None = None
    address: str | None = None  # the connector's DSP base, for the participant list


class Authority:
    def __init__(
        self,
        directory: Path,
        *,
        name: str,
        did: str,
        host: str,
        port: int,
        base_url: str,
        status_list_id: str,
        keys: KeyRing,
    ) -> None:
        self.directory = directory
        self.name = name
        self.did = did
        self.host = host
        self.port = port
        self.base_url = base_url
        self.status_list_id = status_list_id
        self.keys = keys

    @classmethod
    def init(
        cls,
        directory: Path,
        *,
        name: str,
        host: str = "localhost",
        port: int,
        base_url: str | None = None,
    ) -> Authority:
        """Create an authority: key, DID, config and an empty status list.

        `base_url` is where peers reach it; by default `http://localhost:PORT` for a loopback
        host (development) and `https://HOST[:PORT]` otherwise. The DID follows the base URL,
        since that is where the DID document must be found.
        """
        if (directory / _CONFIG).exists():
            raise ConfigError(f"{directory} already holds an authority", code="authority_exists")
        if not name.strip():
            raise ConfigError("the authority needs a name")
        if base_url is None:
            if host in LOOPBACK_HOSTS:
                base_url = f"http://{host}:{port}"
            else:
                base_url = f"https://{host}" + ("" if port == 443 else f":{port}")
        did = _did_for(base_url)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        KeyRing.create(directory, did, retain_retired=_RETAIN_ALL)
        config = {
            "name": name,
            "did": did,
            "host": host,
            "port": port,
            "base_url": base_url.rstrip("/"),
            "status_list_id": "1",
        }
        (directory / _CONFIG).write_text(tomli_w.dumps(config), encoding="utf-8")
        authority = cls.load(directory)
        authority._write_registry({"version": 1, "size": MIN_BITS, "issued": []})
        return authority

    @classmethod
    def load(cls, directory: Path) -> Authority:
        path = directory / _CONFIG
        try:
            config = tomllib.loads(path.read_text(encoding="utf-8"))
            did = str(config["did"])
            authority = cls(
                directory,
                name=str(config["name"]),
                did=did,
                host=str(config["host"]),
                port=int(config["port"]),
                base_url=str(config["base_url"]).rstrip("/"),
                status_list_id=str(config["status_list_id"]),
                keys=KeyRing.load(directory, did, retain_retired=_RETAIN_ALL),
            )
        except FileNotFoundError as exc:
            raise ConfigError(f"no authority in {directory} (run `authority init`)") from exc
        except (tomllib.TOMLDecodeError, KeyError, ValueError) as exc:
            raise ConfigError(f"{path} is not a valid authority config: {exc}") from exc
        return authority

    @property
    def status_list_url(self) -> str:
        return f"{self.base_url}/status/{self.status_list_id}"

    def did_document(self) -> dict[str, Any]:
        return build_did_document(self.did, self.keys, catalog_url=None, data_service_url=None)

    def issued(self) -> list[IssuedCredential]:
        return [IssuedCredential(**entry) for entry in self._read_registry()["issued"]]

    def issue(
        self,
        *,
        subject: str,
        legal_name: str,
        role: str,
        municipality_code: str | None,
        memberships: Sequence[str],
        valid_days: int,
        now: datetime,
        address: str | None = None,
    ) -> str:
        """Issue a membership credential and record it; returns the compact VC-JWT.
        `address` is the member's DSP base for the participant list (default: beside its
        DID document)."""
        try:
            did_web_document_url(subject, dev_mode=True)
        except IdentityError as exc:
            raise ValueError(f"subject must be a did:web identifier: {exc}") from exc
        if valid_days < 1:
            raise ValueError("valid_days must be at least 1")
        valid_until = now + timedelta(days=valid_days)
        credential_id = f"urn:uuid:{uuid.uuid4()}"
        with self._locked():
            registry = self._read_registry()
            index = _free_index(registry)
            token = issue_membership_credential(
                self.keys.active,
                issuer=self.did,
                subject=subject,
                legal_name=legal_name,
                role=role,
                municipality_code=municipality_code,
                memberships=memberships,
                valid_from=now,
                valid_until=valid_until,
                status_list_url=self.status_list_url,
                status_index=index,
                now=now,
                credential_id=credential_id,
            )
            record = IssuedCredential(
                credential_id=credential_id,
                subject=subject,
                legal_name=legal_name,
                role=role,
                status_index=index,
                issued_at=to_iso(now),
                valid_until=to_iso(valid_until),
                address=address,
            )
            registry["issued"].append(asdict(record))
            self._write_registry(registry)
        return token

    def revoke(
        self, *, subject: str | None = None, index: int | None = None, now: datetime
    ) -> list[int]:
        """Revoke by subject (all its credentials) or by status index; returns indices flipped."""
        if (subject is None) == (index is None):
            raise ValueError("name exactly one of subject or index")
        with self._locked():
            registry = self._read_registry()
            matches = [
                entry
                for entry in registry["issued"]
                if entry["subject"] == subject or entry["status_index"] == index
            ]
            if not matches:
                what = f"subject {subject}" if subject is not None else f"status index {index}"
                raise NotFound(f"no credential was issued for {what}", code="credential_unknown")
            flipped = []
            for entry in matches:
                if entry["revoked_at"] is None:
                    entry["revoked_at"] = to_iso(now)
                    flipped.append(entry["status_index"])
            if flipped:
                self._write_registry(registry)
        return sorted(flipped)

    def status_list_credential(self, now: datetime) -> str:
        """The signed status-list credential, built from the registry as it is on disk now."""
        registry = self._read_registry()
        revoked = [e["status_index"] for e in registry["issued"] if e["revoked_at"] is not None]
        return issue_status_list_credential(
            self.keys.active,
            issuer=self.did,
            url=self.status_list_url,
            bits=Bitstring.with_set(revoked, size=registry["size"]),
            now=now,
        )

    def participants(self, now: datetime) -> list[ListedParticipant]:
        """Members with a credential neither revoked nor expired, one entry per DID."""
        listed: dict[str, ListedParticipant] = {}
        for entry in self._read_registry()["issued"]:
            if entry.get("revoked_at") is not None or entry["valid_until"] < to_iso(now):
                continue
            did = entry["subject"]
            old = listed.get(did)
            roles = tuple(dict.fromkeys((*(old.roles if old else ()), entry["role"])))
            address = entry.get("address") or default_address(did)
            listed[did] = ListedParticipant(did, entry["legal_name"], address, roles)
        return sorted(listed.values(), key=lambda p: p.did)

    def participant_list(self, now: datetime) -> str:
        """The signed participant list, from the registry as it is on disk now."""
        return sign_participants(
            self.keys.active, issuer=self.did, participants=self.participants(now), now=now
        )

    # -- persistence -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.directory / _LOCK, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read_registry(self) -> dict[str, Any]:
        path = self.directory / _REGISTRY
        try:
            registry: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(registry.get("issued"), list) or not isinstance(
                registry.get("size"), int
            ):
                raise ValueError("missing 'issued' or 'size'")
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path} is unreadable: {exc}") from exc
        return registry

    def _write_registry(self, registry: dict[str, Any]) -> None:
        tmp = self.directory / f".{_REGISTRY}.tmp"
        tmp.write_text(json.dumps(registry, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.directory / _REGISTRY)


def _did_for(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(f"base URL {base_url!r} must be http(s)://host[:port] without a path")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ConfigError("plain http is only for a loopback host (development)")
    default_port = 443 if parts.scheme == "https" else None
    port = parts.port if parts.port != default_port else None
    try:
        return did_web(parts.hostname, port)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def _free_index(registry: dict[str, Any]) -> int:
    used = {entry["status_index"] for entry in registry["issued"]}
    size: int = registry["size"]
    if len(used) >= size:
        raise ConfigError(
            "the status list is full; start a new authority list", code="status_list_full"
        )
    while True:
        index = secrets.randbelow(size)
        if index not in used:
            return index
