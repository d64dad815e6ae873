"""Reasons: why a decision or a comparison came out as it did, as values.

A `Reason` is a code (snake_case, stable: what a program or a test looks at), the place in the
policy it is about (a JSON-pointer-like path), named arguments, and the reasons beneath it.
The words come later, from `policies.explain`, in English or Japanese.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


# Reasons and verdicts are built on every decision (a dozen per access): not `frozen`, whose
# __init__ costs four times as much, but hashable and never changed once made.
@dataclass(slots=True, unsafe_hash=True)
class Reason:
    code: str
    path: str = ""
    args: tuple[tuple[str, object], ...] = ()
    """Values are shown as text when rendered (instants in ISO 8601): building a reason on
    every access must cost next to nothing."""
    because: tuple[Reason, ...] = ()

    def arg(self, name: str, default: str = "") -> str:
        for key, value in self.args:
            if key == name:
                return as_text(value)
        return default

    def codes(self) -> tuple[str, ...]:
        """This reason's code and those of every reason beneath it, depth first."""
        out = [self.code]
        for child in self.because:
            out.extend(child.codes())
        return tuple(out)


@dataclass(slots=True, unsafe_hash=True)
class Verdict:
    """One constraint's or rule's outcome: True, False, or None when it cannot be decided."""

    holds: bool | None
    reason: Reason


def as_text(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
