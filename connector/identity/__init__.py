"""Participant identity: keys, did:web, membership credentials, signed request tokens.

The only package that imports pyjwt. Nothing here builds a key, a client or a clock at import
time; callers pass them in.
"""

from connector.identity.authority import Authority, IssuedCredential
from connector.identity.credentials import (
    CredentialVerifier,
    MembershipClaims,
    issue_membership_credential,
)
from connector.identity.did import (
    DidDocument,
    DidResolver,
    build_did_document,
    did_web,
    did_web_document_url,
)
from connector.identity.errors import IdentityError
from connector.identity.keys import KeyRing, SigningKey
from connector.identity.replay import MemoryReplayCache, ReplayCache
from connector.identity.tokens import TokenVerifier, VerifiedPeer, issue_id_token

__all__ = [
    "Authority",
    "CredentialVerifier",
    "DidDocument",
    "DidResolver",
    "IdentityError",
    "IssuedCredential",
    "KeyRing",
    "MembershipClaims",
    "MemoryReplayCache",
    "ReplayCache",
    "SigningKey",
    "TokenVerifier",
    "VerifiedPeer",
    "build_did_document",
    "did_web",
    "did_web_document_url",
    "issue_id_token",
    "issue_membership_credential",
]
