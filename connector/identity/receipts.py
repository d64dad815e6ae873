"""Signed consent receipts: a compact JWS (EdDSA, the connector's DID key) over a DPV
consent receipt (the DPVCG's ISO/IEC TS 27560 `receipt-record` profile).

    header  {"alg": "EdDSA", "kid": "<did>#key-N", "typ": "consent-receipt+jwt"}
    payload {"iss": <controller DID>, "iat": <seconds>, "jti": <receipt id>,
             "receipt": {<JSON-LD dpv:ConsentRecord, dct:conformsTo ...#receipt-record,
                         dct:relation: the record, its status history up to this change>}}

Anyone holding the receipt and the controller's DID document verifies it offline
(`verify_receipt`): no call to the connector, no fetch of any context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from connector.identity import jws
from connector.identity.did import DidDocument
from connector.identity.errors import IdentityError
from connector.identity.keys import SigningKey
from policies.consent import DCT, RECEIPT_PROFILE, ConsentRecord, StatusEvent

RECEIPT_TYPE = "consent-receipt+jwt"


def receipt_document(
    record: ConsentRecord, event: StatusEvent, *, receipt_id: str
) -> dict[str, Any]:
    """The receipt for `event` (the change just made) of `record`, in DPV terms."""
    document = record.to_jsonld(at=event.at)
    document.update(
        {
            "@id": receipt_id,
            "dct:conformsTo": {"@id": RECEIPT_PROFILE},
            "dct:identifier": receipt_id,
            "dct:created": {"@value": event.at.isoformat(), "@type": "xsd:dateTime"},
            "dct:relation": {"@id": record.id},
        }
    )
    assert document["@context"]["dct"] == DCT
    return document


def sign_receipt(
    key: SigningKey, record: ConsentRecord, event: StatusEvent, *, receipt_id: str
) -> str:
    claims = {
        "iss": record.controller,
        "iat": int(event.at.timestamp()),
        "jti": receipt_id,
        "receipt": receipt_document(record, event, receipt_id=receipt_id),
    }
    return jws.sign(key, claims, typ=RECEIPT_TYPE)


def keys_of(did_document: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The keys a DID document (as served at /.well-known/did.json) lets sign assertions."""
    did = did_document.get("id")
    if not isinstance(did, str):
        raise IdentityError("the DID document has no id", code="receipt_key_unknown")
    document = DidDocument.parse(dict(did_document), did=did)
    out = {}
    for kid in document.keys:
        key = document.verification_key(kid, "assertionMethod")
        if key is not None:
            out[kid] = key
    return out


def verify_receipt(token: str, keys: Mapping[str, Ed25519PublicKey]) -> dict[str, Any]:
    """The receipt's claims once its signature checks out under one of `keys` (by kid);
    IdentityError otherwise: a changed byte anywhere fails."""
    unverified = jws.parse(token.strip(), typ=RECEIPT_TYPE)
    key = keys.get(unverified.kid)
    if key is None:
        raise IdentityError(
            f"the receipt is signed with {unverified.kid!r}, not a key given",
            code="receipt_key_unknown",
        )
    claims = jws.verify(token.strip(), key)
    if not unverified.kid.startswith(str(claims.get("iss")) + "#"):
        raise IdentityError("the receipt's key is not its issuer's", code="receipt_wrong_issuer")
    if not isinstance(claims.get("receipt"), dict):
        raise IdentityError("the token carries no receipt", code="receipt_malformed")
    return claims
