"""Errors of the shared vocabulary package.

    VocabError             root; `code` is short snake_case, the message says what to fix
     +-- DateError         a date or time could not be read (invalid_date, date_outside_era, ...)
     +-- UnitError         an unknown or incompatible unit (unknown_unit, incompatible_unit)
     +-- CodeError         a municipality or station code is wrong (municipality_check_digit, ...)
     +-- ValueFormatError  a measured value is not a number (invalid_number)
     +-- MappingError      a mapping file is malformed (mapping_invalid, ...)
     +-- ConversionAborted strict conversion met a bad row; carries the row's issues
     +-- ContextError      a JSON-LD context is not pinned (context_not_pinned)
     +-- VocabularyError   the vocabulary or an extension is inconsistent (unknown_term, ...)

The conversion engine turns the first four into row issues (row, field, value, rule = code);
only `--strict` makes them stop a conversion.
"""

from __future__ import annotations


class VocabError(Exception):
    """Root of every error raised by `vocab`; `code` is short and machine-readable."""

    code = "vocab_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class DateError(VocabError):
    code = "invalid_date"


class UnitError(VocabError):
    code = "unknown_unit"


class CodeError(VocabError):
    code = "invalid_code"


class ValueFormatError(VocabError):
    code = "invalid_number"


class MappingError(VocabError):
    code = "mapping_invalid"


class ConversionAborted(VocabError):
    """Raised by a strict conversion at the first rejected row."""

    code = "conversion_aborted"

    def __init__(self, message: str, *, issues: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.issues = issues


class ContextError(VocabError):
    code = "context_not_pinned"


class VocabularyError(VocabError):
    code = "vocabulary_invalid"
