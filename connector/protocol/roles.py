"""The two parts a connector plays in one DSP exchange."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PROVIDER = "provider"
    CONSUMER = "consumer"

    @property
    def other(self) -> Role:
        return Role.CONSUMER if self is Role.PROVIDER else Role.PROVIDER
