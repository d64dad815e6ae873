"""HTTPS serving: the certificate and key named in `tsunagu.toml` ([tls]), and a self-signed
development certificate for `tsunagu init --tls` (for trying HTTPS locally; a real deployment
uses a certificate its peers' systems trust, see docs/operations.md)."""

from __future__ import annotations

import ipaddress
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connector.errors import ConfigError
from connector.settings import Settings

DEV_CERTIFICATE = "tls/certificate.pem"
DEV_KEY = "tls/key.pem"


def make_dev_certificate(
    directory: Path, host: str, *, now: datetime | None = None, days: int = 365
) -> tuple[str, str]:
    """A self-signed certificate for `host` (and the loopback addresses, when it is
    localhost): ECDSA P-256, written under DIRECTORY/tls/, the key mode 0600. Returns both paths
    relative to DIRECTORY, as the config stores them."""
    start = (now or datetime.now(UTC)) - timedelta(minutes=5)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(host)]
    if host == "localhost":
        names += [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        names += [x509.IPAddress(ipaddress.ip_address("::1"))]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    (directory / "tls").mkdir(exist_ok=True)
    (directory / DEV_CERTIFICATE).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path = directory / DEV_KEY
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return DEV_CERTIFICATE, DEV_KEY


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's TLS arguments for a participant (none when [tls] is not configured)."""
    if not settings.tls_certificate:
        return {}
    certificate = settings.directory / settings.tls_certificate
    key = settings.directory / (settings.tls_key or settings.tls_certificate)
    for path in (certificate, key):
        if not path.is_file():
            raise ConfigError(f"[tls] names {path}, which does not exist", code="tls_missing")
    return {"ssl_certfile": str(certificate), "ssl_keyfile": str(key)}
