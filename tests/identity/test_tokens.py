"""ID token verification: the good path and every way a token must be refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from connector.identity.errors import IdentityError
from connector.identity.tokens import TokenVerifier, VerifiedPeer, issue_id_token

from .support import (
    Dataspace,
    Participant,
    b64,
    forge,
    forge_hs256,
    forge_text,
    segment,
    unverified_claims,
)

pytestmark = pytest.mark.anyio

A_PORT, B_PORT = 8101, 8102
_HEADER = {"alg": "EdDSA", "typ": "JWT", "kid": "did:web:localhost%3A8101#key-1"}


def header(sender: Participant, **overrides: Any) -> dict[str, Any]:
    return {"alg": "EdDSA", "typ": "JWT", "kid": sender.keys.active.kid, **overrides}


def claims(space: Dataspace, sender: Participant, **overrides: Any) -> dict[str, Any]:
    now = int(space.clock().timestamp())
    base = {
        "iss": sender.did,
        "sub": sender.did,
        "aud": space.own_did,
        "iat": now,
        "exp": now + 60,
        "jti": "jti-1",
        "vc": sender.credential,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def signed(sender: Participant, head: dict[str, Any], body: dict[str, Any]) -> str:
    return "Bearer " + forge(head, body, sender.keys.active.private_key)


async def rejected(verifier: TokenVerifier, authorization: str | None) -> str:
    with pytest.raises(IdentityError) as caught:
        await verifier.verify(authorization)
    return caught.value.code


async def test_valid_token_is_accepted(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    peer = await dataspace.verifier().verify(
        "Bearer " + a.token(dataspace.own_did, dataspace.clock)
    )
    assert isinstance(peer, VerifiedPeer)
    assert peer.did == a.did
    assert peer.claims.subject == a.did
    assert peer.claims.issuer == dataspace.authority.did
    assert peer.claims.role == "municipality"
    assert peer.claims.municipality_code == "131016"
    assert peer.claims.memberships == ("urn:example:basin-council",)


async def test_issued_token_has_the_documented_shape(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    token = a.token(dataspace.own_did, dataspace.clock)
    body = unverified_claims(token)
    assert body["iss"] == body["sub"] == a.did
    assert body["aud"] == dataspace.own_did
    assert body["exp"] - body["iat"] == 60
    assert body["vc"] == a.credential
    assert body["jti"] != unverified_claims(a.token(dataspace.own_did, dataspace.clock))["jti"]


async def test_issuer_refuses_lifetime_over_five_minutes(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    with pytest.raises(ValueError):
        a.token(dataspace.own_did, dataspace.clock, lifetime_seconds=301)


async def test_missing_header_is_rejected(dataspace: Dataspace) -> None:
    assert await rejected(dataspace.verifier(), None) == "token_missing"


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer not-a-token",
        "Bearer a.b",
        "Bearer a.b.c.d.e",
        "Bearer !!!.e30.AA",
        "Bearer " + segment(_HEADER) + "." + b64(b"[1]") + ".AA",
        "Bearer " + segment(_HEADER) + "." + b64(b"{not json") + ".AA",
        "Bearer " + b64(b"[]") + ".e30.AA",
    ],
)
async def test_malformed_token_is_rejected(dataspace: Dataspace, authorization: str) -> None:
    assert await rejected(dataspace.verifier(), authorization) == "token_malformed"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
async def test_alg_none_is_rejected(dataspace: Dataspace, alg: str) -> None:
    a = dataspace.participant(A_PORT)
    token = forge(header(a, alg=alg), claims(dataspace, a))  # empty signature
    assert await rejected(dataspace.verifier(), "Bearer " + token) == "token_alg_not_allowed"


@pytest.mark.parametrize("form", ["raw", "pem"])
async def test_hs256_signed_with_the_public_key_is_rejected(
    dataspace: Dataspace, form: str
) -> None:
    a = dataspace.participant(A_PORT)
    public = a.keys.active.public_key()
    secret = (
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if form == "raw"
        else public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    token = forge_hs256(header(a, alg="HS256"), claims(dataspace, a), secret)
    assert await rejected(dataspace.verifier(), "Bearer " + token) == "token_alg_not_allowed"


@pytest.mark.parametrize("typ", ["vc+jwt", "at+jwt", "jwt", None])
async def test_wrong_typ_is_rejected(dataspace: Dataspace, typ: str | None) -> None:
    a = dataspace.participant(A_PORT)
    head = header(a, typ=typ)
    if typ is None:
        del head["typ"]
    assert (
        await rejected(dataspace.verifier(), signed(a, head, claims(dataspace, a)))
        == "token_bad_type"
    )


async def test_a_credential_cannot_pass_as_an_id_token(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    assert await rejected(dataspace.verifier(), "Bearer " + a.credential) == "token_bad_type"


async def test_tampered_payload_is_rejected(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    good = forge(header(a), claims(dataspace, a), a.keys.active.private_key)
    other = forge(header(a), claims(dataspace, a, jti="jti-2"), a.keys.active.private_key)
    head, _, signature = good.split(".")
    tampered = f"{head}.{other.split('.')[1]}.{signature}"
    assert await rejected(dataspace.verifier(), "Bearer " + tampered) == "token_bad_signature"


@pytest.mark.parametrize("part", [1, 2])
async def test_a_padded_or_non_canonical_segment_is_malformed(
    dataspace: Dataspace, part: int
) -> None:
    """Compact JWS segments are unpadded base64url (RFC 7515): a padded payload or
    signature, or one whose last character carries stray bits, is refused before its
    signature is looked at."""
    a = dataspace.participant(A_PORT)
    parts = forge(header(a), claims(dataspace, a), a.keys.active.private_key).split(".")
    padded = list(parts)
    padded[part] += "=" * (-len(parts[part]) % 4 or 4)
    assert await rejected(dataspace.verifier(), "Bearer " + ".".join(padded)) == "token_malformed"
    stray = list(parts)
    last = stray[part][-1]
    stray[part] = stray[part][:-1] + ("B" if last == "A" else "A")
    code = await rejected(dataspace.verifier(), "Bearer " + ".".join(stray))
    assert code in {"token_malformed", "token_bad_signature"}


async def test_signature_by_another_key_is_rejected(dataspace: Dataspace) -> None:
    a, b = dataspace.participant(A_PORT), dataspace.participant(B_PORT)
    token = forge(header(a), claims(dataspace, a), b.keys.active.private_key)
    assert await rejected(dataspace.verifier(), "Bearer " + token) == "token_bad_signature"


async def test_missing_kid_is_rejected(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    head = header(a)
    del head["kid"]
    assert (
        await rejected(dataspace.verifier(), signed(a, head, claims(dataspace, a)))
        == "token_missing_claim"
    )


async def test_unknown_kid_is_rejected(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    token = signed(a, header(a, kid=f"{a.did}#key-99"), claims(dataspace, a))
    assert await rejected(dataspace.verifier(), token) == "token_unknown_kid"


async def test_kid_of_another_did_is_rejected(dataspace: Dataspace) -> None:
    a, b = dataspace.participant(A_PORT), dataspace.participant(B_PORT)
    token = signed(a, header(a, kid=b.keys.active.kid), claims(dataspace, a))
    assert await rejected(dataspace.verifier(), token) == "token_unknown_kid"


async def test_rotated_key_becomes_valid_after_one_refresh(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    verifier = dataspace.verifier()
    document_url = f"http://localhost:{A_PORT}/.well-known/did.json"
    await verifier.verify("Bearer " + a.token(dataspace.own_did, dataspace.clock))
    assert dataspace.routes.calls[document_url] == 1

    a.keys.rotate()
    dataspace.clock.advance(31)  # past the refresh interval, still inside the cache TTL
    peer = await verifier.verify("Bearer " + a.token(dataspace.own_did, dataspace.clock))
    assert peer.did == a.did
    assert dataspace.routes.calls[document_url] == 2


async def test_unknown_kid_refresh_is_rate_limited(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    verifier = dataspace.verifier()
    document_url = f"http://localhost:{A_PORT}/.well-known/did.json"
    await verifier.verify("Bearer " + a.token(dataspace.own_did, dataspace.clock))
    a.keys.rotate()
    dataspace.clock.advance(5)

    # The rotated key is accepted at once: its unknown kid triggers one refresh.
    token = a.token(dataspace.own_did, dataspace.clock)
    assert (await verifier.verify("Bearer " + token)).did == a.did
    assert dataspace.routes.calls[document_url] == 2
    # Made-up kids within the interval cause no further fetches.
    for n in range(5):
        bogus = signed(a, header(a, kid=f"{a.did}#key-{50 + n}"), claims(dataspace, a, jti=f"x{n}"))
        assert await rejected(verifier, bogus) == "token_unknown_kid"
    assert dataspace.routes.calls[document_url] == 2

    dataspace.clock.advance(30)
    bogus = signed(a, header(a, kid=f"{a.did}#key-60"), claims(dataspace, a, jti="y"))
    assert await rejected(verifier, bogus) == "token_unknown_kid"
    assert dataspace.routes.calls[document_url] == 3


async def test_token_signed_with_retired_key_still_verifies(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    old_token = a.token(dataspace.own_did, dataspace.clock)
    a.keys.rotate()
    assert (await dataspace.verifier().verify("Bearer " + old_token)).did == a.did


async def test_expired_token_is_rejected(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    token = "Bearer " + a.token(dataspace.own_did, dataspace.clock)
    dataspace.clock.advance(60 + 31)
    assert await rejected(dataspace.verifier(), token) == "token_expired"


async def test_token_is_accepted_up_to_expiry_plus_leeway(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    token = "Bearer " + a.token(dataspace.own_did, dataspace.clock)
    dataspace.clock.advance(60 + 30)
    assert (await dataspace.verifier().verify(token)).did == a.did


async def test_not_yet_valid_token_is_rejected(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    now = int(dataspace.clock().timestamp())
    token = signed(a, header(a), claims(dataspace, a, nbf=now + 31))
    assert await rejected(dataspace.verifier(), token) == "token_not_yet_valid"


async def test_token_issued_in_the_future_is_rejected(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    now = int(dataspace.clock().timestamp())
    token = signed(a, header(a), claims(dataspace, a, iat=now + 31, exp=now + 91))
    assert await rejected(dataspace.verifier(), token) == "token_not_yet_valid"


async def test_lifetime_over_five_minutes_is_rejected(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    now = int(dataspace.clock().timestamp())
    token = signed(a, header(a), claims(dataspace, a, exp=now + 301))
    assert await rejected(dataspace.verifier(), token) == "token_lifetime_too_long"


async def test_wrong_audience_is_rejected(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    token = "Bearer " + a.token("did:web:localhost%3A8999", dataspace.clock)
    assert await rejected(dataspace.verifier(), token) == "token_wrong_audience"


async def test_list_audience_is_rejected(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    token = signed(a, header(a), claims(dataspace, a, aud=[dataspace.own_did]))
    assert await rejected(dataspace.verifier(), token) == "token_wrong_audience"


async def test_replayed_jti_is_rejected(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    verifier = dataspace.verifier()
    token = "Bearer " + a.token(dataspace.own_did, dataspace.clock)
    await verifier.verify(token)
    assert await rejected(verifier, token) == "token_replayed"


async def test_rejected_token_does_not_use_up_its_jti(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    verifier = dataspace.verifier()
    bad = forge(header(a), claims(dataspace, a), signature=b"\0" * 64)
    assert await rejected(verifier, "Bearer " + bad) == "token_bad_signature"
    assert (await verifier.verify(signed(a, header(a), claims(dataspace, a)))).jti == "jti-1"


@pytest.mark.parametrize(
    "extra",
    [
        {"jku": "https://attacker.example/jwks.json"},
        {"x5u": "https://attacker.example/cert.pem"},
        {
            "jwk": {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            }
        },
        {"x5c": ["MIIB"]},
    ],
    ids=["jku", "x5u", "jwk", "x5c"],
)
async def test_key_carrying_header_is_rejected(dataspace: Dataspace, extra: dict[str, Any]) -> None:
    a = dataspace.participant(A_PORT)
    token = signed(a, header(a, **extra), claims(dataspace, a))
    assert await rejected(dataspace.verifier(), token) == "token_forbidden_header"
    assert not any("attacker" in url for url in dataspace.routes.calls)


@pytest.mark.parametrize("crit", [["exp"], ["b64"], []])
async def test_crit_header_is_rejected(dataspace: Dataspace, crit: list[str]) -> None:
    a = dataspace.participant(A_PORT)
    token = signed(a, header(a, crit=crit, b64=True), claims(dataspace, a))
    assert await rejected(dataspace.verifier(), token) == "token_forbidden_header"


async def test_iss_differing_from_sub_is_rejected(dataspace: Dataspace) -> None:
    a, b = dataspace.participant(A_PORT), dataspace.participant(B_PORT)
    token = signed(a, header(a), claims(dataspace, a, sub=b.did))
    assert await rejected(dataspace.verifier(), token) == "token_wrong_subject"


@pytest.mark.parametrize("missing", ["iss", "sub", "aud", "iat", "exp", "jti"])
async def test_missing_claim_is_rejected(dataspace: Dataspace, missing: str) -> None:
    a = dataspace.participant(A_PORT)
    body = claims(dataspace, a)
    del body[missing]
    assert await rejected(dataspace.verifier(), signed(a, header(a), body)) == "token_missing_claim"


async def test_sub_jwk_claim_is_rejected(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    token = signed(a, header(a), claims(dataspace, a, sub_jwk=a.keys.active.public_jwk()))
    assert await rejected(dataspace.verifier(), token) == "token_forbidden_claim"


@pytest.mark.parametrize("exp", ["NaN", "Infinity", "true", '"soon"'])
async def test_non_numeric_exp_is_rejected(dataspace: Dataspace, exp: str) -> None:
    a = dataspace.participant(A_PORT)
    body = claims(dataspace, a)
    del body["exp"]
    payload = json.dumps(body)[:-1] + f', "exp": {exp}}}'  # NaN/Infinity are not JSON
    token = forge_text(header(a), payload, a.keys.active.private_key)
    assert await rejected(dataspace.verifier(), "Bearer " + token) == "token_malformed"


async def test_token_without_credential_is_rejected(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    token = signed(a, header(a), claims(dataspace, a, vc=None))
    assert await rejected(dataspace.verifier(), token) == "credential_missing"


async def test_credential_from_untrusted_authority_is_rejected(dataspace: Dataspace) -> None:
    rogue = dataspace.add_authority("rogue", 8300)
    a = dataspace.participant(A_PORT, authority=rogue)
    token = "Bearer " + a.token(dataspace.own_did, dataspace.clock)
    assert await rejected(dataspace.verifier(), token) == "credential_untrusted_issuer"
    # Nothing about the rogue authority or the sender was fetched.
    assert not any(":8300" in url or ":8101" in url for url in dataspace.routes.calls)


async def test_expired_credential_is_rejected(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT, valid_days=1)
    dataspace.clock.advance(2 * 86400)
    token = "Bearer " + a.token(dataspace.own_did, dataspace.clock)
    assert await rejected(dataspace.verifier(), token) == "credential_expired"


async def test_not_yet_valid_credential_is_rejected(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    a.credential = dataspace.authority.issue(
        subject=a.did,
        legal_name="A",
        role="municipality",
        municipality_code=None,
        memberships=[],
        valid_days=30,
        now=dataspace.clock().replace(day=2),
    )
    token = "Bearer " + a.token(dataspace.own_did, dataspace.clock)
    assert await rejected(dataspace.verifier(), token) == "credential_not_yet_valid"


async def test_revoked_credential_is_rejected_once_the_status_cache_expires(
    dataspace: Dataspace,
) -> None:
    a = dataspace.participant(A_PORT)
    verifier = dataspace.verifier()
    assert (
        await verifier.verify("Bearer " + a.token(dataspace.own_did, dataspace.clock))
    ).did == a.did

    dataspace.authority.revoke(subject=a.did, now=dataspace.clock())
    dataspace.clock.advance(30)  # the cached status list (60 s) still says "not revoked"
    assert (
        await verifier.verify("Bearer " + a.token(dataspace.own_did, dataspace.clock))
    ).did == a.did

    dataspace.clock.advance(31)
    token = "Bearer " + a.token(dataspace.own_did, dataspace.clock)
    assert await rejected(verifier, token) == "credential_revoked"


async def test_credential_of_another_subject_is_rejected(dataspace: Dataspace) -> None:
    a, b = dataspace.participant(A_PORT), dataspace.participant(B_PORT)
    token = issue_id_token(
        a.keys.active,
        issuer=a.did,
        audience=dataspace.own_did,
        credential=b.credential,
        now=dataspace.clock(),
    )
    assert await rejected(dataspace.verifier(), "Bearer " + token) == "credential_subject_mismatch"


async def test_lifetime_of_exactly_five_minutes_is_accepted(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    now = int(dataspace.clock().timestamp())
    token = signed(a, header(a), claims(dataspace, a, exp=now + 300))
    assert (await dataspace.verifier().verify(token)).did == a.did


async def test_nbf_and_iat_within_the_leeway_are_accepted(dataspace: Dataspace) -> None:
    a = dataspace.participant(A_PORT)
    now = int(dataspace.clock().timestamp())
    token = signed(a, header(a), claims(dataspace, a, iat=now + 30, nbf=now + 30, exp=now + 90))
    assert (await dataspace.verifier().verify(token)).did == a.did
