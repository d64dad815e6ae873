"""Flood-alert changes in the audit log: one `alert.changed` entry per change of the levels the
`event` operand reads, with the areas' new and previous levels and who set them (the basin
watch or the operator). connector/policy/alerts.py calls it before the change takes effect."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from connector.store.audit_records import record_event
from connector.store.store import Store

__all__ = ["ALERT_FAMILY", "CHANGED", "AlertRecorder"]

ALERT_FAMILY = "alert"  # the entry's kind is `alert.changed`
CHANGED = "changed"


class AlertRecorder:
    def __init__(self, store: Store, clock: Callable[[], datetime], did: str) -> None:
        self.store = store
        self.clock = clock
        self.did = did

    def __call__(self, changed: Mapping[str, int], previous: Mapping[str, int], by: str) -> None:
        event = record_event(
            at=self.clock(),
            family=ALERT_FAMILY,
            action=CHANGED,
            subject=self.did,
            peer="",
            details={
                "levels": dict(sorted(changed.items())),
                "previous": dict(sorted(previous.items())),
                "by": by,
            },
        )
        with self.store.transaction() as tx:
            tx.add(event)
