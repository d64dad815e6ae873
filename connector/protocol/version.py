"""The version document served at `GET <root>/.well-known/dspace-version` (DSP 2025-1 section 1).

It has no `@context`. Each entry names a protocol version, the `path` appended to `<root>` to
reach it, and the binding (`HTTPS`); optionally the service id, identifier type and auth profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connector.errors import MessageError
from connector.protocol.base import Fields

DSP_VERSION = "2025-1"


@dataclass(frozen=True, kw_only=True)
class VersionAuth:
    protocol: str
    version: str
    profile: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"protocol": self.protocol, "version": self.version}
        if self.profile:
            out["profile"] = list(self.profile)
        return out


@dataclass(frozen=True, kw_only=True)
class ProtocolVersion:
    path: str
    version: str = DSP_VERSION
    binding: str = "HTTPS"
    service_id: str | None = None
    identifier_type: str | None = None
    auth: VersionAuth | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version, "path": self.path, "binding": self.binding}
        if self.service_id is not None:
            out["serviceId"] = self.service_id
        if self.identifier_type is not None:
            out["identifierType"] = self.identifier_type
        if self.auth is not None:
            out["auth"] = self.auth.to_json()
        return out


def version_document(*versions: ProtocolVersion) -> dict[str, Any]:
    if not versions:
        raise ValueError("a version document lists at least one version")
    return {"protocolVersions": [v.to_json() for v in versions]}


def version_response(
    path: str,
    *,
    service_id: str | None = None,
    identifier_type: str | None = None,
    auth: VersionAuth | None = None,
) -> dict[str, Any]:
    """The document for a connector that speaks DSP 2025-1 at `<root>` + `path`."""
    return version_document(
        ProtocolVersion(
            path=path, service_id=service_id, identifier_type=identifier_type, auth=auth
        )
    )


def parse_version_response(body: object) -> tuple[ProtocolVersion, ...]:
    """A peer's version document; `MessageError` when it is not one."""
    where = "version document"
    if not isinstance(body, Mapping):
        raise MessageError(f"the {where} must be a JSON object", code="invalid_message")
    entries = Fields(body, where).array("protocolVersions")
    if not entries:
        raise MessageError(f"the {where} lists no protocolVersions", code="missing_field")
    versions = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise MessageError(
                f"{where}: protocolVersions[{i}] must be an object", code="invalid_field"
            )
        fields = Fields(entry, f"{where}: protocolVersions[{i}]")
        auth = fields.optional_object("auth")
        auth_fields = None if auth is None else Fields(auth, f"{fields.where}.auth")
        versions.append(
            ProtocolVersion(
                version=fields.string("version"),
                path=fields.string("path"),
                binding=fields.string("binding"),
                service_id=fields.optional_string("serviceId"),
                identifier_type=fields.optional_string("identifierType"),
                auth=None
                if auth_fields is None
                else VersionAuth(
                    protocol=auth_fields.string("protocol"),
                    version=auth_fields.string("version"),
                    profile=tuple(str(p) for p in auth_fields.array("profile")),
                ),
            )
        )
    return tuple(versions)


def find_version(
    versions: tuple[ProtocolVersion, ...], version: str = DSP_VERSION
) -> ProtocolVersion | None:
    """The first HTTPS entry for `version`; DSP says to stop talking to a peer without one."""
    return next((v for v in versions if v.version == version and v.binding == "HTTPS"), None)
