"""Deterministic kill points for the crash suite, installed only when asked for.

`TSUNAGU_CRASH_POINTS` (read by the composition root; when it is unset nothing here is
imported or wired in) lists points and the chance of dying at each, e.g.
`sent:0.05,seal:0.02`:

* `sent`: a message the peer acknowledged, before the delivery is recorded (the window in
  which a re-sent message after the restart meets a peer that already has it);
* `seal`: a transaction whose events and audit entries are written but not committed (the
  audit append in `Transaction.seal`).

Dying is SIGKILL of the own process: no clean-up, exactly like `kill -9` from outside.
`TSUNAGU_CRASH_SEED` makes the draws repeatable.
"""

from __future__ import annotations

import os
import random
import signal
from typing import Any

from connector.control.runner import Runner
from connector.errors import ConfigError
from connector.store.commit_watch import before_audit_commit
from connector.store.store import Store

ENV = "TSUNAGU_CRASH_POINTS"
POINTS = ("sent", "seal")


def parse(spec: str) -> dict[str, float]:
    chances: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, chance = item.partition(":")
        if name not in POINTS:
            raise ConfigError(f"{ENV}: unknown point {name!r} (known: {', '.join(POINTS)})")
        try:
            chances[name] = float(chance)
        except ValueError:
            raise ConfigError(f"{ENV}: {item!r} needs a chance, as in {name}:0.05") from None
    return chances


def install(spec: str, runner: Runner, store: Store) -> None:
    chances = parse(spec)
    seed = os.environ.get("TSUNAGU_CRASH_SEED")
    draw = random.Random(int(seed) if seed else None).random

    def maybe_die(point: str) -> None:
        if draw() < chances[point]:
            os.kill(os.getpid(), signal.SIGKILL)

    if "sent" in chances:
        for service in runner.services.values():
            recorded = service.on_sent

            def on_sent(*args: Any, _recorded: Any = recorded) -> None:
                maybe_die("sent")
                _recorded(*args)

            setattr(service, "on_sent", on_sent)  # noqa: B010 (a method replaced on purpose)
    if "seal" in chances:
        before_audit_commit(store.engine, lambda: maybe_die("seal"))
