"""Scheduled checkpoints: by age and by the number of new entries."""

from __future__ import annotations

from typing import Any

import pytest

from connector.clock import ManualClock
from connector.control.checkpoints import CheckpointSchedule
from connector.demo.localspace import Participant
from tests.audit.conftest import write_events

pytestmark = pytest.mark.anyio


def schedule(participant: Participant, clock: ManualClock, **every: Any) -> CheckpointSchedule:
    c = participant.connector
    return CheckpointSchedule(c.store, c.keys, clock, own_did=c.did, **every)


async def test_a_checkpoint_once_enough_entries_are_in(participant: Participant) -> None:
    clock = ManualClock()
    every = schedule(participant, clock, entries=3)
    assert not CheckpointSchedule(
        participant.connector.store, participant.connector.keys, clock, own_did="x"
    ).enabled
    assert every.enabled and every.run_once() is None  # an empty log: nothing to sign
    write_events(participant, 2)
    assert every.run_once() == 2  # the first checkpoint of a log that has entries
    write_events(participant, 2, prefix="q")
    assert every.run_once() is None  # 2 new < 3
    write_events(participant, 1, prefix="r")
    assert every.run_once() == 5


async def test_a_checkpoint_when_the_last_is_old_and_the_log_grew(participant: Participant) -> None:
    clock = ManualClock(participant.connector.clock())
    every = schedule(participant, clock, seconds=60)
    write_events(participant, 1)
    assert every.run_once() == 1
    write_events(participant, 1, prefix="q")
    clock.advance(30)
    assert every.run_once() is None
    clock.advance(31)
    assert every.run_once() == 2
    clock.advance(120)
    assert every.run_once() is None  # nothing new to sign
