"""Tables of operator holds (docs/holds.md): the step a process waits for, the rules a process
was started under, and the steps an offer asks for. Kept apart from `tables.py`: the control
plane's own rows say *where* a process is, these say *who* decides its next step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

JsonDict = dict[str, Any]


class HoldRow(SQLModel, table=True):
    """A step of ours that waits for the operator: at most one per process."""

    __tablename__ = "hold"

    process_id: str = Field(primary_key=True, max_length=256)
    process: str = Field(max_length=16, index=True)  # "negotiation" | "transfer"
    role: str = Field(max_length=16)
    # The message the operator's approval sends (AGREEMENT, ACCEPTED, VERIFICATION, FINALIZED,
    # START), or `peer_not_found` when the peer answered 404 to one of ours.
    waiting_for: str = Field(max_length=32)
    since: datetime
    detail: JsonDict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ProcessRulesRow(SQLModel, table=True):
    """The rules one process runs under, where they differ from the participant's: a
    consumer's acceptance rules given with its request, a provider's steps from the offer."""

    __tablename__ = "process_rules"

    process_id: str = Field(primary_key=True, max_length=256)
    rules: JsonDict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class OfferStepsRow(SQLModel, table=True):
    """Provider: which steps of negotiations and transfers under this offer wait for the
    operator (`after_accept`, `finalize`, `transfer_start`)."""

    __tablename__ = "offer_steps"

    offer_id: str = Field(primary_key=True, max_length=512)
    steps: JsonDict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
