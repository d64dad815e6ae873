"""HTTPS serving: `tsunagu init --tls` makes a development certificate and names it in
tsunagu.toml; the connector then serves HTTPS on loopback with it."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography import x509

from connector.app import build_connector, create_app
from connector.cli import main
from connector.serving import BackgroundServer, free_port
from connector.settings import load_settings
from connector.tls import server_options

pytestmark = pytest.mark.anyio


async def test_init_tls_and_serve_https(tmp_path: Path) -> None:
    port = free_port()
    directory = tmp_path / "a"
    result = CliRunner().invoke(
        main, ["init", str(directory), "--name", "A市", "--port", str(port), "--dev", "--tls"]
    )
    assert result.exit_code == 0, result.output
    settings = load_settings(directory)
    assert settings.scheme == "https" and settings.public_url.startswith("https://")
    assert settings.tls_certificate and settings.tls_key
    key = directory / settings.tls_key
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    certificate = x509.load_pem_x509_certificate(
        (directory / settings.tls_certificate).read_bytes()
    )
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)

    trust = ssl.create_default_context(cafile=str(directory / settings.tls_certificate))
    server = BackgroundServer(
        create_app(build_connector(settings), run_background=False),
        host="127.0.0.1",
        port=port,
        **server_options(settings),
    )
    await server.start()
    try:
        async with httpx.AsyncClient(verify=trust) as http:
            response = await http.get(f"https://localhost:{port}/healthz")
            assert response.status_code == 200 and response.json() == {"status": "alive"}
            document = await http.get(f"https://localhost:{port}/.well-known/did.json")
            assert document.json()["id"] == settings.did
        async with httpx.AsyncClient() as plain:  # the system's trust store does not know it
            with pytest.raises(httpx.ConnectError):
                await plain.get(f"https://localhost:{port}/healthz")
    finally:
        await server.stop()


def test_a_missing_certificate_is_a_config_error(tmp_path: Path) -> None:
    from dataclasses import replace

    from connector.errors import ConfigError
    from connector.participant import init_participant

    settings = init_participant(tmp_path / "b", name="B町", port=free_port(), dev_mode=True)
    with pytest.raises(ConfigError, match="does not exist"):
        server_options(replace(settings, tls_certificate="tls/none.pem", tls_key="tls/none.key"))
