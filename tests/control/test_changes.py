"""Long-poll waiting: a waiter wakes when its process settles where it wants, not before."""

from __future__ import annotations

import asyncio

import pytest

from connector.control.changes import Changes

pytestmark = pytest.mark.anyio


async def _settle() -> None:
    """Return once every wake-up `changed()` has scheduled so far has run: the loop runs its
    callbacks in the order they were scheduled, so one scheduled now runs after them."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.call_soon(done.set_result, None)
    await done


async def test_a_waiter_sleeps_through_states_it_does_not_want() -> None:
    changes = Changes()
    waiter = changes.watch("p1", {"FINALIZED", "TERMINATED"})
    changes.changed("p1", "REQUESTED")
    changes.changed("p1", "AGREED")
    changes.changed("p1", "FINALIZED", owing=True)  # we still owe the peer a message
    changes.changed("p2", "FINALIZED")  # another process
    await _settle()
    assert not waiter.done()
    changes.changed("p1", "FINALIZED")
    await _settle()
    assert waiter.done()


async def test_an_unknown_state_wakes_every_waiter_to_look() -> None:
    changes = Changes()
    specific = changes.watch("p1", {"STARTED"})
    any_change = changes.watch("p1")
    changes.changed("p1", "REQUESTED")
    await _settle()
    assert any_change.done() and not specific.done()
    changes.changed("p1")  # e.g. the runner gave up sending: re-read
    await _settle()
    assert specific.done()


async def test_wait_times_out_and_forgets_the_waiter() -> None:
    changes = Changes()
    waiter = changes.watch("p1", {"STARTED"})
    await changes.wait("p1", waiter, 0.01)
    assert waiter.cancelled()
    again = changes.watch("p1", {"STARTED"})
    changes.changed("p1", "STARTED")  # wakes the new waiter only; the old one is gone
    await _settle()
    assert again.done() and not again.cancelled()
