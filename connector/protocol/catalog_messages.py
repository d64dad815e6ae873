"""Catalog protocol request messages and the catalog error object (DSP 2025-1 section 3).

The catalogue and dataset *responses* are written by `catalog.dsp`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from connector.protocol.base import Fields, Message, Prop, optional_text, reason_list, text


@dataclass(frozen=True, kw_only=True)
class CatalogRequestMessage(Message):
    """`filter` is implementation-specific; an empty filter is not written."""

    TYPE: ClassVar[str] = "CatalogRequestMessage"
    filter: Sequence[Any] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "filter", tuple(self.filter))

    def _properties(self) -> dict[str, Any]:
        return {"filter": list(self.filter)} if self.filter else {}

    @classmethod
    def _read(cls, fields: Fields) -> Self:
        return cls(filter=fields.array("filter"))


@dataclass(frozen=True, kw_only=True)
class DatasetRequestMessage(Message):
    """The abstract form of `GET <base>/catalog/datasets/:id`."""

    TYPE: ClassVar[str] = "DatasetRequestMessage"
    WIRE: ClassVar[tuple[Prop, ...]] = (text("dataset"),)
    dataset: str


@dataclass(frozen=True, kw_only=True)
class CatalogError(Message):
    """The catalog protocol's error object (not to be confused with `catalog.errors.CatalogError`,
    the exception of the catalogue library)."""

    TYPE: ClassVar[str] = "CatalogError"
    WIRE: ClassVar[tuple[Prop, ...]] = (optional_text("code"), reason_list())
    code: str | None = None
    reason: Sequence[Any] | None = None
