"""Dependencies shared by the routers, as `Annotated` aliases so signatures read plainly."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from connector.api.body import read_json
from connector.control.peers import Peer
from connector.errors import Unauthenticated
from connector.protocol.messages import parse_message

if TYPE_CHECKING:
    from connector.app import Connector

M = TypeVar("M")


def get_connector(request: Request) -> Connector:
    connector: Connector = request.app.state.connector
    return connector


async def _connector(request: Request) -> Connector:
    # async on purpose: FastAPI runs a plain `def` dependency in a worker thread, a hand-off
    # per request that cost ~5 % of a connector's CPU (benchmarks/negotiation.py)
    return get_connector(request)


ConnectorDep = Annotated["Connector", Depends(_connector)]


async def authenticate_peer(request: Request) -> Peer:
    """Verify the peer's self-issued ID token and membership credential."""
    connector = get_connector(request)
    verified = await connector.verifier.verify(request.headers.get("authorization"))
    claims = verified.claims
    return Peer(
        did=verified.did,
        claims={
            "legal_name": claims.legal_name,
            "role": claims.role,
            "municipality_code": claims.municipality_code,
            "memberships": list(claims.memberships),
        },
    )


PeerDep = Annotated[Peer, Depends(authenticate_peer)]


async def message(request: Request, model: type[M]) -> M:
    connector = get_connector(request)
    body: Any = await read_json(request, limit=connector.settings.max_body_bytes)
    return parse_message(body, model)  # type: ignore[type-var]


# In the OpenAPI document as a bearer scheme, so /docs can send the token ("Authorize");
# the check and its error stay ours (auto_error off).
management_token = HTTPBearer(
    scheme_name="managementToken",
    description="The participant's management token: `[management] token` in tsunagu.toml.",
    auto_error=False,
)


async def require_operator(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(management_token)],
) -> None:
    """The management API takes the token from the participant's config as a bearer token."""
    expected = get_connector(request).settings.management_token
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), expected):
        raise Unauthenticated(
            "the management API needs `Authorization: Bearer <token>`; the token is in the "
            "participant's tsunagu.toml under [management]",
            code="operator_unauthenticated",
        )


OperatorDep = Depends(require_operator)
