"""Errors of the DCAT catalogue package.

CatalogError         root; `code` is short snake_case, the message says what to fix
 +-- UnknownTerm     a theme, place, observable property or unit the vocabulary does not
                     know (unknown_theme, unknown_place, unknown_property, unknown_unit,
                     incompatible_unit, deprecated_theme)
 +-- InvalidEntry    the entry breaks the catalogue's shapes; `report` says where, in words
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from catalog.validation import Report


class CatalogError(Exception):
    """Root of every error raised by `catalog`; `code` is short and machine-readable."""

    code = "catalog_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class UnknownTerm(CatalogError):
    code = "unknown_term"


class InvalidEntry(CatalogError):
    """Refused by SHACL validation; `report.issues` lists each problem in plain words."""

    code = "invalid_entry"

    def __init__(self, report: Report) -> None:
        problems = report.violations
        lines = [f"{len(problems)} problem(s):", *(f"  - {i.text()}" for i in problems)]
        super().__init__("\n".join(lines))
        self.report = report
