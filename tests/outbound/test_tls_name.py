"""Pinning keeps the name for TLS: the connection goes to the checked address, while the
certificate is checked against the URL's host name (SNI too). The server on 127.0.0.1 holds a
certificate for `partner.test` only, so a client that verified the dialled IP would fail."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connector.outbound import OutboundPolicy, PinnedTransport, fetch
from tests.outbound.support import RecordingDial, ScriptedResolver

pytestmark = pytest.mark.anyio


@pytest.fixture
def certificate(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "partner.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("partner.test")]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    yield cert_path, key_path


async def test_https_to_a_pinned_address_verifies_the_name(certificate: tuple[Path, Path]) -> None:
    cert_path, key_path = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_path, key_path)
    names: list[str | None] = []
    server_ctx.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,misc]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    client_ctx = ssl.create_default_context(cafile=str(cert_path))
    policy = OutboundPolicy(
        dev_mode=True, resolver=ScriptedResolver({"partner.test": ["127.0.0.1"]})
    )
    dial = RecordingDial()
    try:
        transport = PinnedTransport(policy, dial=dial, verify=client_ctx)
        async with httpx.AsyncClient(transport=transport) as http:
            fetched = await fetch(http, policy, "GET", f"https://partner.test:{port}/x")
    finally:
        server.close()
        await server.wait_closed()
    assert fetched.body == b"ok"
    assert dial.dialled == ["127.0.0.1"]
    assert names == ["partner.test"]
