"""Tables of policy enforcement: what a provider knew of the consumer when a transfer started
(the facts every later access is decided on) and the duties owed under agreements.

Kept apart from `tables.py`: they belong to the policy feature (`connector.policy`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


class PolicyContextRow(SQLModel, table=True):
    """Provider side: the consumer's verified claims and stated purpose when the transfer
    started. Data-plane accesses carry only our own transfer token, so the claims a policy
    asks about (role, membership, municipality) are read from here."""

    __tablename__ = "policy_context"

    transfer_id: str = Field(primary_key=True, max_length=256)
    agreement_id: str = Field(max_length=256, index=True)
    requester: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    purpose: str | None = Field(default=None, max_length=2048)
    created_at: datetime


class DutyRow(SQLModel, table=True):
    """A duty owed under an agreement (ODRL duty of a permission, or an obligation), on the
    side that tracks it: `inform` and `delete` on the consumer, `attribute` on both."""

    __tablename__ = "policy_duty"

    id: str = Field(primary_key=True, max_length=64)
    agreement_id: str = Field(max_length=256, index=True)
    role: str = Field(max_length=16)  # our role under the agreement
    action: str = Field(max_length=256)
    state: str = Field(max_length=16)  # open | fulfilled
    due_at: datetime | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime
    fulfilled_at: datetime | None = None


class AgreementSignatureRow(SQLModel, table=True):
    """One party's signature over an agreement's canonical form (RFC 8785 JSON of the stored
    policy): a compact JWS by the party's DID key over the agreement id and the form's SHA-256."""

    __tablename__ = "agreement_signature"

    agreement_id: str = Field(primary_key=True, max_length=256)
    signer_did: str = Field(primary_key=True, max_length=512)
    jws: str = Field(max_length=8192)
    digest: str = Field(max_length=64)  # hex SHA-256 of the canonical form signed
    created_at: datetime
