"""Data-plane access tokens: short-lived, bound to one transfer, signed by the provider.

Their `typ` differs from ID tokens and credentials, so none of the three can pass for another.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from connector.identity import jws
from connector.identity.keys import SigningKey

ACCESS_TOKEN_TYPE = "tsunagu-transfer+jwt"
MAX_LIFETIME_SECONDS = 300


def issue_transfer_token(
    key: SigningKey,
    *,
    issuer: str,
    audience: str,
    subject: str,
    agreement_id: str,
    transfer_id: str,
    now: datetime,
    lifetime_seconds: int = MAX_LIFETIME_SECONDS,
) -> str:
    """A token the consumer `subject` presents to the provider's data plane `audience`."""
    lifetime = min(lifetime_seconds, MAX_LIFETIME_SECONDS)
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=lifetime)).timestamp()),
        "jti": uuid.uuid4().hex,
        "agreement_id": agreement_id,
        "transfer_id": transfer_id,
    }
    return jws.sign(key, claims, typ=ACCESS_TOKEN_TYPE)
