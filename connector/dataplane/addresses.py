"""Data addresses for pull transfers: the provider's data endpoint plus transfer-bound tokens.

The endpoint that honours these tokens is the data plane's (`/data/<transfer id>`). Besides
the short-lived access token, the address carries a refresh token and where to use it; the
consumer renews its access token there (see `DataPlane.refresh`). Minted when the start
message is sent, so a retried or resumed start never carries a stale token.
"""

from __future__ import annotations

from typing import Any

from connector.dataplane.tokens import TransferTokens, new_refresh_token, token_hash
from connector.identity.access_tokens import MAX_LIFETIME_SECONDS
from connector.store.dataplane_queries import DataPlaneQueries
from connector.store.tables import TransferRow

HTTP_ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"


def endpoint_properties(address: dict[str, Any] | None) -> dict[str, str]:
    """`{name: value}` of a DataAddress's endpoint properties."""
    props: dict[str, str] = {}
    for prop in (address or {}).get("endpointProperties", []) or []:
        if isinstance(prop, dict) and isinstance(prop.get("name"), str):
            props[prop["name"]] = str(prop.get("value", ""))
    return props


class PullAddressIssuer:
    def __init__(
        self, tokens: TransferTokens, queries: DataPlaneQueries, *, public_url: str
    ) -> None:
        self.tokens = tokens
        self.queries = queries
        self.public_url = public_url.rstrip("/")

    def pull_address(self, transfer: TransferRow) -> dict[str, Any]:
        """A fresh data address for a pull transfer we start (or resume): a signed access
        token bound to the transfer and its agreement, and a refresh token."""
        token, expires = self.tokens.issue(
            transfer_id=transfer.id,
            agreement_id=transfer.agreement_id,
            consumer_did=transfer.counterparty_did,
        )
        refresh = new_refresh_token()
        self.queries.save_grant(
            transfer.id,
            transfer.counterparty_did,
            token_hash(refresh),
            expires,
            agreement_id=transfer.agreement_id,
        )
        endpoint = f"{self.public_url}/data/{transfer.id}"

        def prop(name: str, value: str) -> dict[str, str]:
            return {"@type": "EndpointProperty", "name": name, "value": value}

        return {
            "@type": "DataAddress",
            "endpointType": HTTP_ENDPOINT_TYPE,
            "endpoint": endpoint,
            "endpointProperties": [
                prop("authorization", token),
                prop("authType", "bearer"),
                prop("expiresIn", str(MAX_LIFETIME_SECONDS)),
                prop("refreshToken", refresh),
                prop("refreshEndpoint", f"{endpoint}/refresh"),
            ],
        }
