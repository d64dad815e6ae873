"""Data addresses for pull transfers: the provider's data endpoint plus a transfer-bound token.

The endpoint that honours these tokens is the data plane's (`/data/<transfer id>`).
"""

from __future__ import annotations

from typing import Any

from connector.clock import Clock
from connector.identity.access_tokens import MAX_LIFETIME_SECONDS, issue_transfer_token
from connector.identity.keys import KeyRing
from connector.store.tables import AgreementRow, TransferRow

HTTP_ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"


class PullAddressIssuer:
    def __init__(self, keys: KeyRing, *, own_did: str, public_url: str, clock: Clock) -> None:
        self.keys = keys
        self.own_did = own_did
        self.public_url = public_url.rstrip("/")
        self.clock = clock

    def pull_address(self, transfer: TransferRow, agreement: AgreementRow) -> dict[str, Any]:
        token = issue_transfer_token(
            self.keys.active,
            issuer=self.own_did,
            audience=self.own_did,
            subject=transfer.counterparty_did,
            agreement_id=agreement.id,
            transfer_id=transfer.id,
            now=self.clock(),
        )
        return {
            "@type": "DataAddress",
            "endpointType": HTTP_ENDPOINT_TYPE,
            "endpoint": f"{self.public_url}/data/{transfer.id}",
            "endpointProperties": [
                {"@type": "EndpointProperty", "name": "authorization", "value": token},
                {"@type": "EndpointProperty", "name": "authType", "value": "bearer"},
                {
                    "@type": "EndpointProperty",
                    "name": "expiresIn",
                    "value": str(MAX_LIFETIME_SECONDS),
                },
            ],
        }
