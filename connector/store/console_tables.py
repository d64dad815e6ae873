"""The console's rows: sessions logged out before they expired.

A console session is a signed cookie any process of the participant accepts; a logout is kept
here, on the participant's database, so every process refuses the session from then on.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class ConsoleSessionEndedRow(SQLModel, table=True):
    """A logged-out session, kept until the cookie would have expired anyway."""

    __tablename__ = "console_session_ended"

    sid: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(index=True)
