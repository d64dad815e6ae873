"""A whole data space on this machine: one authority and any number of participants, each a
real connector on its own loopback port with its own keys, credential and database.

Used by `tsunagu demo`, the end-to-end tests and the benchmarks.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from connector.api.authority import build_authority_app
from connector.api.client import ManagementClient
from connector.app import Connector, build_connector, create_app
from connector.clock import Clock, system_clock
from connector.identity.authority import Authority
from connector.outbound import Resolver
from connector.participant import init_participant
from connector.private_files import write_private
from connector.serving import BackgroundServer, reserve_port
from connector.settings import Settings, write_settings


@dataclass
class Participant:
    settings: Settings
    connector: Connector
    client: ManagementClient
    server: BackgroundServer

    @property
    def did(self) -> str:
        return self.settings.did


class LocalDataspace:
    def __init__(
        self,
        root: Path,
        *,
        clock: Clock = system_clock,
        database_url_for: Callable[[str], str | None] = lambda _key: None,
        background: bool = True,
        resolver: Resolver | None = None,
    ) -> None:
        self.root = root
        self.clock = clock
        self.database_url_for = database_url_for
        self.background = background  # False: runners only move when a test calls run_once()
        self.resolver = resolver  # the connectors' outbound name lookups (tests script them)
        self.authority: Authority | None = None
        self.participants: dict[str, Participant] = {}
        self._servers: list[BackgroundServer] = []

    async def start_authority(self, name: str = "dataspace authority") -> Authority:
        listener = reserve_port()
        authority = Authority.init(
            self.root / "authority", name=name, port=listener.getsockname()[1]
        )
        server = BackgroundServer(
            build_authority_app(authority, self.clock),
            host="127.0.0.1",
            port=authority.port,
            listener=listener,
        )
        await server.start()
        self._servers.append(server)
        self.authority = authority
        return authority

    async def add(
        self,
        key: str,
        name: str,
        *,
        role: str = "municipality",
        municipality_code: str | None = None,
        memberships: Sequence[str] = (),
    ) -> Participant:
        """Create a participant, have the authority vouch for it, and start its connector."""
        if self.authority is None:
            raise RuntimeError("start the authority first")
        listener = reserve_port()
        settings = init_participant(
            self.root / key,
            name=name,
            port=listener.getsockname()[1],
            dev_mode=True,
            trusted_authorities=(self.authority.did,),
            database_url=self.database_url_for(key),
        )
        credential = self.authority.issue(
            subject=settings.did,
            legal_name=name,
            role=role,
            municipality_code=municipality_code,
            memberships=list(memberships),
            valid_days=365,
            now=self.clock(),
        )
        write_private(settings.credential_path, credential)
        return await self.serve(key, settings, listener=listener)

    async def serve(
        self, key: str, settings: Settings, *, listener: socket.socket | None = None
    ) -> Participant:
        """(Re)start the connector of a participant directory, as a fresh process would."""
        connector = build_connector(settings, clock=self.clock, resolver=self.resolver)
        app = create_app(connector, run_background=self.background)
        server = BackgroundServer(app, host="127.0.0.1", port=settings.port, listener=listener)
        await server.start()
        self._servers.append(server)
        client = ManagementClient.for_settings(settings)
        participant = Participant(settings, connector, client, server)
        self.participants[key] = participant
        return participant

    async def stop(self, key: str) -> Settings:
        """Stop one participant's connector (its directory and database stay)."""
        participant = self.participants.pop(key)
        await participant.client.aclose()
        await participant.server.stop()
        self._servers.remove(participant.server)
        return participant.settings

    async def reconfigure(self, key: str, **changes: Any) -> Participant:
        """Change a participant's settings as its operator would: edit tsunagu.toml and
        restart the connector (e.g. `audit_auditors=(did,)` to let an auditor read)."""
        settings = replace(await self.stop(key), **changes)
        write_settings(settings)
        return await self.serve(key, settings)

    def __getitem__(self, key: str) -> Participant:
        return self.participants[key]

    async def aclose(self) -> None:
        for participant in self.participants.values():
            await participant.client.aclose()
        for server in reversed(self._servers):
            await server.stop()
        self._servers.clear()

    async def __aenter__(self) -> LocalDataspace:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
