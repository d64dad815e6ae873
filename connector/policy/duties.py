"""Duties owed under agreements, tracked where they are fulfilled.

- `attribute`: the provider's data plane names the source on every response (the
  `Tsunagu-Attribution` header), the consumer's connector passes it on and `tsunagu fetch`
  writes it into the fetched file's metadata (`FILE.tsunagu.json`).
- `inform`: on every use through the consumer's connector, it notifies the owner's connector
  (a DSP-authenticated request: the consumer's signed, audience-bound ID token), which records
  the notice; the consumer records the duty fulfilled once the owner acknowledged it.
- `delete` (after N days: an `elapsedTime` constraint on the duty, counted from the agreement):
  what `tsunagu fetch` stored under an agreement is registered with the consumer's connector;
  when due, the duty sweeper deletes it and records the confirmation.

Open duties per agreement are derived from the agreement's stored policy and the fulfilment
records (`policy_duty`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.responses import Response

from connector.policy.digests import digest_period, digest_state
from connector.policy.starts import aware
from connector.store.dataplane_queries import TransferSnapshot
from connector.store.policy_queries import add_duty, duties, fulfil_duty
from connector.store.store import Store
from connector.store.tables import AgreementRow
from policies.model import Constraint, Policy, Rule
from policies.odrl import parse_policy
from policies.values import items, parse_duration

log = logging.getLogger("tsunagu.policy")

ATTRIBUTION = "Tsunagu-Attribution"
TRACKED = ("attribute", "inform", "delete", "compensate", "obtainConsent")


def credit_where_due(connector: Any, snapshot: TransferSnapshot, response: Response) -> None:
    """Provider: name the source on a response under an agreement that owes attribution."""
    env = connector.policy
    if env is None or env.access is None:
        return
    terms = env.access.terms(snapshot.agreement_id, snapshot.policy or {})
    if terms.attribute:
        response.headers[ATTRIBUTION] = f"{snapshot.dataset_id or ''} by {connector.did}"


def owed(policy: Policy) -> Iterator[Rule]:
    """The duties of the agreement's permissions and its obligations."""
    for rule in policy.permissions:
        yield from rule.duties
    yield from policy.obligations


def owes(policy: Policy, action: str) -> bool:
    return any(d.action == action for d in owed(policy))


def delete_after(policy: Policy, agreed_at: datetime) -> datetime | None:
    """When a `delete` duty falls due: its `elapsedTime` after the agreement (None: no such duty,
    or one without a period, which falls due at once)."""
    for duty in owed(policy):
        if duty.action != "delete":
            continue
        for c in duty.constraints:
            if isinstance(c, Constraint) and c.left_operand == "elapsedTime":
                return parse_duration(items(c.right_operand)[0]).after(agreed_at)
        return agreed_at
    return None


@dataclass(frozen=True)
class DutyView:
    action: str
    state: str  # open | fulfilled | recorded
    detail: dict[str, Any]
    due_at: datetime | None = None


def listing(store: Store, agreement: AgreementRow, now: datetime | None = None) -> dict[str, Any]:
    """Every duty of the agreement: what it says, and what was recorded of it."""
    policy = parse_policy(agreement.policy)
    records = duties(store, agreement.id)
    period = digest_period(policy)
    out = []
    for duty in owed(policy):
        mine = [r for r in records if r.action == duty.action]
        fulfilled = [r for r in mine if r.state == "fulfilled"]
        pending = [r for r in mine if r.state == "open"]
        covered, shown = None, mine
        if duty.action == "inform" and period is not None and now is not None:
            state, covered = digest_state(agreement, mine, period, now)  # met | due | overdue
            shown = [r for r in mine if "digest" in r.detail]  # the uses are in the digests
        elif duty.action in ("inform", "attribute"):
            state = "ongoing"  # owed at every use
        elif pending:
            state = "open"
        elif fulfilled:
            state = "fulfilled"
        else:
            state = "open"
        due = delete_after(policy, aware(agreement.signed_at)) if duty.action == "delete" else None
        out.append(
            {
                "action": duty.action,
                "state": state,
                "due_at": due.isoformat() if due else None,
                **(
                    {"digests_until": covered, "uses_not_yet_sent": len(pending)}
                    if covered is not None
                    else {}
                ),
                "records": [
                    {
                        "id": r.id,
                        "state": r.state,
                        "role": r.role,
                        "due_at": r.due_at.isoformat() if r.due_at else None,
                        "fulfilled_at": r.fulfilled_at.isoformat() if r.fulfilled_at else None,
                        "detail": r.detail,
                    }
                    for r in shown
                ],
            }
        )
    return {
        "agreement_id": agreement.id,
        "duties": out,
        "open": [d["action"] for d in out if d["state"] in ("open", "ongoing", "due", "overdue")],
        "prohibited": [r.action for r in policy.prohibitions],
    }


def register_stored(
    store: Store, agreement: AgreementRow, *, transfer_id: str, path: str, now: datetime
) -> dict[str, Any] | None:
    """Consumer: `tsunagu fetch` stored `path` under the agreement. With a `delete` duty this
    records the obligation to delete it when due; returns it (None: nothing is owed)."""
    policy = parse_policy(agreement.policy)
    due = delete_after(policy, aware(agreement.signed_at))
    if due is None:
        return None
    with store.transaction() as tx:
        row = add_duty(
            tx,
            agreement_id=agreement.id,
            role="consumer",
            action="delete",
            now=now,
            due_at=due,
            detail={"path": path, "transfer_id": transfer_id},
        )
    return {"id": row.id, "action": "delete", "due_at": due.isoformat(), "path": path}


def sweep(store: Store, now: datetime) -> int:
    """Consumer: delete what is due and record the confirmation; returns how many."""
    done = 0
    for row in duties(store, state="open"):
        if row.action != "delete" or row.due_at is None or aware(row.due_at) > now:
            continue
        path = Path(str(row.detail.get("path", "")))
        existed = path.is_file()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        sidecar = path.with_name(path.name + ".tsunagu.json")
        with contextlib.suppress(FileNotFoundError):
            sidecar.unlink()
        with store.transaction() as tx:
            fulfil_duty(tx, row.id, now, {"deleted": existed, "confirmed_at": now.isoformat()})
        log.info("duty: deleted %s under agreement %s", path, row.agreement_id)
        done += 1
    return done


def record_notice(
    store: Store, agreement: AgreementRow, *, role: str, now: datetime, detail: dict[str, Any]
) -> None:
    """An `inform` notice sent (consumer) or received (provider)."""
    with store.transaction() as tx:
        row = add_duty(
            tx, agreement_id=agreement.id, role=role, action="inform", now=now, detail=detail
        )
        fulfil_duty(tx, row.id, now, {})
