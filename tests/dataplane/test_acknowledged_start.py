"""The helpers wait for the provider, not only the consumer, to be STARTED.

DSP moves a process when the receiver acknowledges, so the consumer is STARTED as it
answers a start message and the provider only once that answer is back and recorded. On a
loaded machine the gap let a first read meet `transfer_not_started` and a look at the
provider's events miss the resume. These run those two tests with the provider's recording
held back on purpose."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from connector.demo.localspace import LocalDataspace

from . import test_live, test_policy_resume
from .test_live import topic
from .test_policy_wiring import levels

__all__ = ["levels", "topic"]

pytestmark = pytest.mark.anyio

DELAY_SECONDS = 1.0  # far longer than the consumer takes to report STARTED


def record_starts_late(space: LocalDataspace) -> None:
    """The provider records a delivered start message only `DELAY_SECONDS` after its ACK."""
    service = space["provider"].connector.transfers
    record = service.on_sent

    def late(pid: str, pending: str, response: dict[str, Any] | None) -> None:
        if pending == "START":
            time.sleep(DELAY_SECONDS)  # a worker thread on PostgreSQL, the loop on SQLite
        record(pid, pending, response)

    service.on_sent = late  # type: ignore[method-assign]


async def test_the_first_read_of_accumulated_readings(space: LocalDataspace, topic: str) -> None:
    record_starts_late(space)
    await test_live.test_accumulation_serves_the_latest_readings(space, topic)


async def test_the_resume_is_among_the_providers_events(
    space: LocalDataspace, levels: dict[str, Any], examples: Path
) -> None:
    record_starts_late(space)
    await test_policy_resume.test_the_alert_back_resumes_the_transfer(space, levels, examples)
