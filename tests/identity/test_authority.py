"""The dataspace authority: its directory, issuing, revoking, and its HTTP app."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import httpx
import pytest

from connector.api.authority import build_authority_app
from connector.clock import ManualClock
from connector.errors import ConfigError, NotFound
from connector.identity import jws
from connector.identity.authority import Authority
from connector.identity.did import DidDocument
from connector.identity.status_list import Bitstring

from .support import unverified_claims

SUBJECT = "did:web:localhost%3A8101"


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority.init(tmp_path / "authority", name="Kiso River Basin Council", port=8200)


def issue(authority: Authority, clock: ManualClock, subject: str = SUBJECT) -> str:
    return authority.issue(
        subject=subject,
        legal_name="A市",
        role="municipality",
        municipality_code="13101",
        memberships=["Kiso River Basin Council"],
        valid_days=365,
        now=clock(),
    )


def test_init_lays_out_the_directory(authority: Authority) -> None:
    root = authority.directory
    assert authority.did == "did:web:localhost%3A8200"
    assert authority.status_list_url == "http://localhost:8200/status/1"
    config = tomllib.loads((root / "authority.toml").read_text())
    assert config == {
        "name": "Kiso River Basin Council",
        "did": authority.did,
        "host": "localhost",
        "port": 8200,
        "base_url": "http://localhost:8200",
        "status_list_id": "1",
    }
    assert stat.S_IMODE((root / "keys" / "key-1.pem").stat().st_mode) == 0o600
    assert (root / "registry.json").is_file()
    assert authority.issued() == []


def test_init_refuses_an_existing_authority(authority: Authority) -> None:
    with pytest.raises(ConfigError):
        Authority.init(authority.directory, name="again", port=8200)


@pytest.mark.parametrize(
    ("host", "port", "did", "base_url"),
    [
        ("auth.example.org", 443, "did:web:auth.example.org", "https://auth.example.org"),
        (
            "auth.example.org",
            8443,
            "did:web:auth.example.org%3A8443",
            "https://auth.example.org:8443",
        ),
    ],
)
def test_public_hosts_use_https(
    tmp_path: Path, host: str, port: int, did: str, base_url: str
) -> None:
    authority = Authority.init(tmp_path, name="x", host=host, port=port)
    assert (authority.did, authority.base_url) == (did, base_url)


def test_base_url_behind_a_proxy_sets_the_did(tmp_path: Path) -> None:
    authority = Authority.init(tmp_path, name="x", port=8200, base_url="https://auth.example.org")
    assert authority.did == "did:web:auth.example.org"
    assert authority.status_list_url == "https://auth.example.org/status/1"


@pytest.mark.parametrize(
    "base_url", ["http://auth.example.org", "ftp://x.example", "https://a.example/p"]
)
def test_unusable_base_urls_are_refused(tmp_path: Path, base_url: str) -> None:
    with pytest.raises(ConfigError):
        Authority.init(tmp_path, name="x", port=8200, base_url=base_url)


def test_load_round_trips(authority: Authority) -> None:
    loaded = Authority.load(authority.directory)
    assert (loaded.did, loaded.name, loaded.port) == (authority.did, authority.name, authority.port)


def test_load_of_an_empty_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        Authority.load(tmp_path)


def test_issue_records_the_credential(authority: Authority, clock: ManualClock) -> None:
    token = issue(authority, clock)
    claims = unverified_claims(token)
    [record] = authority.issued()
    assert record.subject == SUBJECT
    assert record.credential_id == claims["jti"]
    assert str(record.status_index) == claims["credentialStatus"]["statusListIndex"]
    assert record.revoked_at is None
    assert claims["credentialSubject"]["municipalityCode"] == "131016"


def test_status_indices_are_distinct(authority: Authority, clock: ManualClock) -> None:
    for port in range(8101, 8121):
        issue(authority, clock, f"did:web:localhost%3A{port}")
    indices = [record.status_index for record in authority.issued()]
    assert len(set(indices)) == 20


@pytest.mark.parametrize("subject", ["not-a-did", "did:key:z6Mk", "did:web:10.0.0.1"])
def test_issue_requires_a_did_web_subject(
    authority: Authority, clock: ManualClock, subject: str
) -> None:
    with pytest.raises(ValueError):
        issue(authority, clock, subject)
    assert authority.issued() == []


def test_revoke_by_subject_and_by_index(authority: Authority, clock: ManualClock) -> None:
    issue(authority, clock)
    issue(authority, clock)
    other = unverified_claims(issue(authority, clock, "did:web:localhost%3A8102"))
    other_index = int(other["credentialStatus"]["statusListIndex"])
    revoked = authority.revoke(subject=SUBJECT, now=clock())
    assert len(revoked) == 2
    assert authority.revoke(subject=SUBJECT, now=clock()) == []
    assert authority.revoke(index=other_index, now=clock()) == [other_index]
    assert all(record.revoked_at == "2026-04-01T09:00:00Z" for record in authority.issued())


def test_revoke_of_unknown_credentials_is_not_found(
    authority: Authority, clock: ManualClock
) -> None:
    with pytest.raises(NotFound):
        authority.revoke(subject=SUBJECT, now=clock())
    with pytest.raises(NotFound):
        authority.revoke(index=5, now=clock())
    with pytest.raises(ValueError):
        authority.revoke(now=clock())


def test_status_list_reflects_a_revocation_made_elsewhere(
    authority: Authority, clock: ManualClock
) -> None:
    index = int(unverified_claims(issue(authority, clock))["credentialStatus"]["statusListIndex"])
    Authority.load(authority.directory).revoke(subject=SUBJECT, now=clock())  # "another process"
    claims = jws.verify(
        authority.status_list_credential(clock()), authority.keys.active.public_key()
    )
    bits = Bitstring.decode(claims["credentialSubject"]["encodedList"])
    assert bits.get(index)
    assert sum(bits.get(i) for i in range(bits.size)) == 1


@pytest.mark.anyio
async def test_app_serves_did_document_and_status_list(
    authority: Authority, clock: ManualClock
) -> None:
    index = int(unverified_claims(issue(authority, clock))["credentialStatus"]["statusListIndex"])
    app = build_authority_app(authority, clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=authority.base_url) as client:
        response = await client.get("/.well-known/did.json")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/did+json"
        document = DidDocument.parse(response.json(), did=authority.did)
        key = document.verification_key(authority.keys.active.kid, "assertionMethod")
        assert key is not None

        def revoked() -> bool:
            claims = jws.verify(response.text, key)
            return Bitstring.decode(claims["credentialSubject"]["encodedList"]).get(index)

        response = await client.get("/status/1")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/vc+jwt"
        assert not revoked()

        Authority.load(authority.directory).revoke(index=index, now=clock())
        response = await client.get("/status/1")
        assert revoked()

        assert (await client.get("/status/2")).status_code == 404
