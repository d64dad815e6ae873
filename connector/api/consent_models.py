"""What the consent part of the management API answers, as typed models for its OpenAPI
document. Times stay the text the connector wrote (ISO 8601)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from connector.api.schema import errors

TOO_LARGE = errors((413, "The body is larger than 64 KiB (`body_too_large`)."))

# The body is read by hand (it is a consent record's own fields, checked by the service), so
# the document describes it here.
CONSENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "`subject`, `purposes`, `recipients` and optionally "
                    "`datasets`, `legal_basis`, `valid_from`, `valid_until`, `notice`, "
                    "`indicated_by` (docs/consent.md).",
                    "required": ["subject", "purposes", "recipients"],
                }
            }
        },
    }
}
PORTAL_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"name": {"type": "string", "maxLength": 256}},
                    "required": ["name"],
                }
            }
        },
    }
}


class StatusEventOut(BaseModel):
    status: str
    at: str
    by: str = Field(description="Who expressed it (a DID or a portal).")
    method: str


class ConsentOut(BaseModel):
    id: str
    subject: str
    controller: str = Field(description="This connector's DID.")
    purposes: list[str]
    recipients: list[str]
    datasets: list[str]
    legal_basis: str
    valid_from: str
    valid_until: str | None
    notice: str | None
    status: str = Field(description="given, withdrawn, expired (or pending before valid_from).")
    history: list[StatusEventOut]

    model_config = ConfigDict(extra="allow")


class ReceiptOut(BaseModel):
    id: str
    status: str
    receipt: str = Field(description="The signed receipt (a JWS).")


class SignedReceiptOut(BaseModel):
    id: str
    receipt: str = Field(description="The signed receipt (a JWS).")


class ConsentChangeOut(ConsentOut):
    receipt: SignedReceiptOut = Field(description="The receipt of this change.")


class ConsentShownOut(ConsentOut):
    jsonld: dict[str, Any] = Field(description="The record as DPV JSON-LD.")
    receipts: list[ReceiptOut]


class PortalOut(BaseModel):
    id: str
    name: str
    created_at: str
    revoked: bool


class PortalTokenOut(PortalOut):
    token: str = Field(description="The portal's bearer token, shown this once.")
