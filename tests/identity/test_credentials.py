"""Membership credentials: issuing, and every reason a verifier refuses one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from connector.identity import jws
from connector.identity.credentials import (
    CredentialVerifier,
    issue_membership_credential,
    normalise_municipality_code,
)
from connector.identity.errors import IdentityError

from .support import Dataspace, forge, unverified_claims

pytestmark = pytest.mark.anyio

A = 8101


async def refused(space: Dataspace, credential: str, subject: str, verifier: Any = None) -> str:
    with pytest.raises(IdentityError) as caught:
        await (verifier or space.credentials).verify(credential, expected_subject=subject)
    return caught.value.code


def issue(space: Dataspace, subject: str, **changes: Any) -> str:
    authority = space.authority
    arguments: dict[str, Any] = {
        "issuer": authority.did,
        "subject": subject,
        "legal_name": "A市",
        "role": "municipality",
        "municipality_code": "131016",
        "memberships": ["urn:example:basin-council"],
        "valid_from": space.clock(),
        "valid_until": space.clock() + timedelta(days=30),
        "status_list_url": authority.status_list_url,
        "status_index": 12,
        "now": space.clock(),
    }
    arguments.update(changes)
    return issue_membership_credential(authority.keys.active, **arguments)


async def test_credential_shape(dataspace: Dataspace) -> None:
    a = dataspace.participant(A)
    header = jws.parse(a.credential, typ="vc+jwt").header
    assert header == {"alg": "EdDSA", "typ": "vc+jwt", "kid": dataspace.authority.keys.active.kid}
    claims = unverified_claims(a.credential)
    assert claims["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert claims["type"] == ["VerifiableCredential", "DataspaceMembershipCredential"]
    assert claims["issuer"] == claims["iss"] == dataspace.authority.did
    assert claims["credentialSubject"]["id"] == claims["sub"] == a.did
    assert claims["credentialSubject"]["legalName"] == "Participant 8101"
    assert claims["credentialSubject"]["municipalityCode"] == "131016"
    assert claims["credentialSubject"]["memberOf"] == ["urn:example:basin-council"]
    assert claims["validFrom"] == "2026-04-01T09:00:00Z"
    assert claims["validUntil"] == "2026-05-01T09:00:00Z"
    assert claims["nbf"] == int(dataspace.clock().timestamp()) == claims["iat"]
    assert claims["jti"] == claims["id"] and claims["id"].startswith("urn:uuid:")
    status = claims["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry"
    assert status["statusPurpose"] == "revocation"
    assert status["statusListCredential"] == dataspace.authority.status_list_url
    assert status["statusListIndex"].isdigit()


async def test_valid_credential_is_accepted(dataspace: Dataspace) -> None:
    a = dataspace.participant(A)
    claims = await dataspace.credentials.verify(a.credential, expected_subject=a.did)
    assert (claims.subject, claims.legal_name, claims.role) == (
        a.did,
        "Participant 8101",
        "municipality",
    )
    assert claims.valid_until - claims.valid_from == timedelta(days=30)


async def test_status_list_is_cached_for_its_ttl(dataspace: Dataspace) -> None:
    a = dataspace.participant(A)
    for _ in range(3):
        await dataspace.credentials.verify(a.credential, expected_subject=a.did)
    assert dataspace.routes.calls[dataspace.authority.status_list_url] == 1
    dataspace.clock.advance(60)
    await dataspace.credentials.verify(a.credential, expected_subject=a.did)
    assert dataspace.routes.calls[dataspace.authority.status_list_url] == 2


async def test_empty_credential_is_missing(dataspace: Dataspace) -> None:
    assert await refused(dataspace, "", "did:web:localhost%3A8101") == "credential_missing"


async def test_credential_self_signed_in_the_authoritys_name_is_refused(
    dataspace: Dataspace,
) -> None:
    a = dataspace.participant(A)
    claims = unverified_claims(a.credential)
    claims["credentialSubject"]["role"] = "authority"
    header = {"alg": "EdDSA", "typ": "vc+jwt", "kid": dataspace.authority.keys.active.kid}
    forged = forge(header, claims, a.keys.active.private_key)
    assert await refused(dataspace, forged, a.did) == "credential_invalid"


async def test_tampered_credential_is_refused(dataspace: Dataspace) -> None:
    a = dataspace.participant(A)
    head, _, signature = a.credential.split(".")
    claims = unverified_claims(a.credential)
    claims["credentialSubject"]["legalName"] = "Someone Else"
    body = forge({}, claims).split(".")[1]
    assert await refused(dataspace, f"{head}.{body}.{signature}", a.did) == "credential_invalid"


async def test_id_token_type_cannot_pass_as_credential(dataspace: Dataspace) -> None:
    a = dataspace.participant(A)
    claims = unverified_claims(a.credential)
    header = {"alg": "EdDSA", "typ": "JWT", "kid": dataspace.authority.keys.active.kid}
    forged = forge(header, claims, dataspace.authority.keys.active.private_key)
    assert await refused(dataspace, forged, a.did) == "credential_invalid"


async def test_credential_from_untrusted_issuer_is_refused(dataspace: Dataspace) -> None:
    rogue = dataspace.add_authority("rogue", 8300)
    a = dataspace.participant(A, authority=rogue)
    assert await refused(dataspace, a.credential, a.did) == "credential_untrusted_issuer"


async def test_credential_for_another_subject_is_refused(dataspace: Dataspace) -> None:
    a = dataspace.participant(A)
    assert await refused(dataspace, a.credential, "did:web:localhost%3A8102") == (
        "credential_subject_mismatch"
    )


async def test_expired_credential_is_refused(dataspace: Dataspace) -> None:
    a = dataspace.participant(A, valid_days=1)
    dataspace.clock.advance(86400 + 31)
    assert await refused(dataspace, a.credential, a.did) == "credential_expired"


async def test_not_yet_valid_credential_is_refused(dataspace: Dataspace) -> None:
    subject = "did:web:localhost%3A8101"
    credential = issue(dataspace, subject, valid_from=dataspace.clock() + timedelta(minutes=5))
    assert await refused(dataspace, credential, subject) == "credential_not_yet_valid"


async def test_revoked_credential_is_refused_after_the_status_ttl(dataspace: Dataspace) -> None:
    a = dataspace.participant(A)
    await dataspace.credentials.verify(a.credential, expected_subject=a.did)
    assert dataspace.authority.revoke(subject=a.did, now=dataspace.clock())
    await dataspace.credentials.verify(a.credential, expected_subject=a.did)  # cached list
    dataspace.clock.advance(60)
    assert await refused(dataspace, a.credential, a.did) == "credential_revoked"


async def test_revocation_of_another_index_does_not_matter(dataspace: Dataspace) -> None:
    a, b = dataspace.participant(A), dataspace.participant(8102)
    dataspace.authority.revoke(subject=b.did, now=dataspace.clock())
    assert (
        await dataspace.credentials.verify(a.credential, expected_subject=a.did)
    ).subject == a.did


async def test_unreachable_status_list_fails_closed(dataspace: Dataspace) -> None:
    a = dataspace.participant(A)
    await dataspace.resolver.resolve(dataspace.authority.did)  # DID document already cached
    del dataspace.routes.apps["localhost:8200"]
    assert await refused(dataspace, a.credential, a.did) == "status_list_unavailable"


async def test_status_list_of_another_authority_is_refused(dataspace: Dataspace) -> None:
    other = dataspace.add_authority("other", 8300)
    subject = "did:web:localhost%3A8101"
    credential = issue(dataspace, subject, status_list_url=other.status_list_url)
    assert await refused(dataspace, credential, subject) == "status_list_invalid"


async def test_status_list_on_a_plain_http_remote_host_is_not_fetched(dataspace: Dataspace) -> None:
    subject = "did:web:localhost%3A8101"
    url = "http://authority.example/status/1"
    credential = issue(dataspace, subject, status_list_url=url)
    # the outbound policy's refusal, with its own code (connector/outbound)
    assert await refused(dataspace, credential, subject) == "outbound_address_refused"
    assert url not in dataspace.routes.calls


async def test_loopback_status_list_needs_dev_mode(dataspace: Dataspace) -> None:
    a = dataspace.participant(A)
    strict = CredentialVerifier(
        dataspace.resolver, dataspace.http, dataspace.clock, [dataspace.authority.did]
    )
    assert await refused(dataspace, a.credential, a.did, strict) == "outbound_address_refused"


async def test_credential_without_status_is_refused(dataspace: Dataspace) -> None:
    subject = "did:web:localhost%3A8101"
    claims = unverified_claims(issue(dataspace, subject))
    del claims["credentialStatus"]
    token = jws.sign(dataspace.authority.keys.active, claims, typ="vc+jwt")
    assert await refused(dataspace, token, subject) == "credential_invalid"


@pytest.mark.parametrize(
    "change",
    [
        {"type": ["VerifiableCredential"]},
        {"@context": ["https://www.w3.org/2018/credentials/v1"]},
        {"issuer": "did:web:other.example"},
        {"sub": "did:web:other.example"},
        {"exp": 0},
        {"validUntil": "2026-05-01"},
        {"jti": "urn:uuid:other"},
        {"credentialSubject": {"id": "did:web:localhost%3A8101"}},
    ],
    ids=["type", "context", "issuer", "sub", "exp", "date", "jti", "no-name"],
)
async def test_malformed_credential_is_refused(
    dataspace: Dataspace, change: dict[str, Any]
) -> None:
    subject = "did:web:localhost%3A8101"
    claims = unverified_claims(issue(dataspace, subject))
    claims.update(change)
    token = jws.sign(dataspace.authority.keys.active, claims, typ="vc+jwt")
    assert await refused(dataspace, token, subject) == "credential_invalid"


@pytest.mark.parametrize(
    ("code", "six"),
    [
        ("13101", "131016"),
        ("13104", "131041"),
        ("13113", "131130"),
        ("01100", "011002"),
        ("131016", "131016"),
    ],
)
def test_municipality_codes_are_normalised(code: str, six: str) -> None:
    assert normalise_municipality_code(code) == six


@pytest.mark.parametrize("code", ["131017", "1310", "1310166", "１３１０１", "13a01"])
def test_bad_municipality_codes_are_refused(code: str) -> None:
    with pytest.raises(ValueError):
        normalise_municipality_code(code)


@pytest.mark.parametrize(
    "change",
    [{"role": "Municipality"}, {"legal_name": " "}, {"memberships": [""]}, {"status_index": -1}],
)
async def test_issuing_refuses_bad_input(dataspace: Dataspace, change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        issue(dataspace, "did:web:localhost%3A8101", **change)
