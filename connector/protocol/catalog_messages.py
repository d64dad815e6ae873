"""Catalog protocol request messages and the catalog error object (DSP 2025-1 section 3).

The catalogue and dataset *responses* are written by `catalog.dsp`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from connector.protocol.base import Fields, Message, code_and_reason, reasons


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
    dataset: str

    def _properties(self) -> dict[str, Any]:
        return {"dataset": self.dataset}

    @classmethod
    def _read(cls, fields: Fields) -> Self:
        return cls(dataset=fields.string("dataset"))


@dataclass(frozen=True, kw_only=True)
class CatalogError(Message):
    """The catalog protocol's error object (not to be confused with `catalog.errors.CatalogError`,
    the exception of the catalogue library)."""

    TYPE: ClassVar[str] = "CatalogError"
    code: str | None = None
    reason: Sequence[Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", reasons(self.reason))

    def _properties(self) -> dict[str, Any]:
        return code_and_reason(self.code, self.reason)

    @classmethod
    def _read(cls, fields: Fields) -> Self:
        return cls(code=fields.optional_string("code"), reason=fields.array("reason"))
