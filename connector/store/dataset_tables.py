"""A dataset's lifecycle beyond publishing: retirement (no new negotiations; agreements made
before go on). Kept apart from `tables.py` so the dataset row itself stays as published."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class DatasetRetirementRow(SQLModel, table=True):
    """A retired dataset: off the catalogue, new negotiations refused. Removing the row puts
    the dataset back on offer."""

    __tablename__ = "dataset_retirement"

    dataset_id: str = Field(primary_key=True, foreign_key="dataset.id", max_length=512)
    retired_at: datetime
    reason: str = Field(default="", max_length=1024)
