"""What the management API answers about negotiations, agreements and transfers, as typed
models for its OpenAPI document. Records may carry more fields than named here (later
features add theirs): the models allow them rather than drop them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventOut(BaseModel):
    at: datetime
    direction: str = Field(description="`inbound`, `outbound` or `local`.")
    message: str = Field(description="The DSP message or local action.")
    from_: str | None = Field(None, alias="from", description="The state before.")
    to: str = Field(description="The state after.")
    detail: dict[str, Any] = {}

    model_config = ConfigDict(populate_by_name=True, extra="allow")


class _Process(BaseModel):
    id: str = Field(description="This connector's process id (give it to later commands).")
    role: str = Field(description="`consumer` or `provider`: our side.")
    state: str = Field(description="The DSP state (REQUESTED, ..., FINALIZED / STARTED, ...).")
    peer_pid: str | None = Field(None, description="The counterparty's process id.")
    counterparty: str = Field(description="The counterparty's DID.")
    pending: str | None = Field(None, description="A message still to be sent to the peer.")
    attempts: int = Field(0, description="Delivery attempts of the pending message.")
    last_error: str | None = Field(None, description="Why the last attempt or the peer failed.")
    created_at: datetime
    updated_at: datetime
    events: list[EventOut] | None = Field(None, description="The history, on single reads.")

    model_config = ConfigDict(extra="allow")


class NegotiationOut(_Process):
    counterparty_address: str | None = Field(None, description="The counterparty's DSP base.")
    dataset_id: str
    offer: dict[str, Any] = Field(description="The ODRL offer (or agreement) negotiated.")
    agreement_id: str | None = Field(None, description="Set once the provider agreed.")
    awaiting_decision: bool = Field(description="Parked until this operator decides.")


class TransferOut(_Process):
    agreement_id: str
    format: str = Field(description="HttpData-PULL or HttpData-PUSH.")
    data_address: dict[str, Any] | None = Field(
        None, description="Consumer, pull: where to read and the token (a secret)."
    )


class AgreementOut(BaseModel):
    id: str
    negotiation_id: str
    dataset_id: str
    provider_did: str
    consumer_did: str
    policy: dict[str, Any] = Field(description="The agreed ODRL policy.")
    signed_at: datetime

    model_config = ConfigDict(extra="allow")


class RevokedOut(BaseModel):
    agreement_id: str
    revoked: bool
    reason: str
    terminated_transfers: list[str] = Field(
        default_factory=list, description="The transfers the revocation terminated."
    )
