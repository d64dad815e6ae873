"""What became of each source row: its records and its issues, and the tally of a conversion."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from vocab.records import Observation

Severity = Literal["error", "warning"]
Status = Literal["converted", "warned", "rejected"]


@dataclass(frozen=True, slots=True)
class RowIssue:
    row: int
    field: str
    value: str
    rule: str
    message: str
    severity: Severity

    def __str__(self) -> str:
        return f"row {self.row}: {self.field}={self.value!r}: {self.message} [{self.rule}]"


class RowOutcome(NamedTuple):
    """What became of one source row."""

    row: int
    records: list[Observation]
    issues: tuple[RowIssue, ...]
    rejected: bool

    @property
    def status(self) -> Status:
        if self.rejected:
            return "rejected"
        return "warned" if self.issues else "converted"

    def rejecting(self, issue: RowIssue) -> RowOutcome:
        """The same row, rejected with one more issue and no records."""
        return RowOutcome(self.row, [], (*self.issues, issue), True)


@dataclass
class ConversionSummary:
    """Counts of a conversion, and the first `max_issues` issues in full."""

    rows: int = 0
    converted: int = 0
    warned: int = 0
    rejected: int = 0
    records: int = 0
    validated: int = 0
    """Records checked against the SHACL shapes."""
    rules: Counter[str] = field(default_factory=Counter)
    issues: list[RowIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    max_issues: int = 1000

    def add(self, outcome: RowOutcome) -> None:
        self.rows += 1
        self.records += len(outcome.records)
        if not outcome.issues:
            self.converted += 1
            return
        if outcome.rejected:
            self.rejected += 1
        else:
            self.warned += 1
        for issue in outcome.issues:
            self.rules[issue.rule] += 1
            if len(self.issues) < self.max_issues:
                self.issues.append(issue)

    def text(self) -> str:
        line = (
            f"{self.rows} rows: {self.converted} converted, {self.warned} warned, "
            f"{self.rejected} rejected; {self.records} records"
        )
        if self.validated:
            line += f" ({self.validated} checked with SHACL)"
        return line
