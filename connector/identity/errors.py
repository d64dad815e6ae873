"""Rejections raised by the identity layer.

Every reason to refuse a peer (a token, a DID document, a credential, a status list) is an
`IdentityError` with a specific snake_case `code`, so logs and tests can tell them apart while
the HTTP layer maps them all to one 401/404. Local set-up problems (a missing key file, a broken
authority directory) are `connector.errors.ConfigError` instead: they are the operator's to fix.

Codes in use:

    token_missing, token_malformed, token_alg_not_allowed, token_bad_type, token_bad_signature,
    token_forbidden_header, token_forbidden_claim, token_missing_claim, token_expired,
    token_not_yet_valid, token_lifetime_too_long, token_wrong_audience, token_wrong_subject,
    token_replayed, token_unknown_kid,
    did_invalid, did_resolution_failed,
    credential_missing, credential_invalid, credential_untrusted_issuer, credential_expired,
    credential_not_yet_valid, credential_revoked, credential_subject_mismatch,
    status_list_unavailable, status_list_invalid,
    outbound_address_refused (a DID document or status list at an address the outbound
    policy refuses: connector/outbound)
"""

from __future__ import annotations

from connector.errors import Unauthenticated

__all__ = ["IdentityError"]


class IdentityError(Unauthenticated):
    code = "identity_rejected"

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, code=code)
