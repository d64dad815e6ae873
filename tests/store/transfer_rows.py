"""Transfers as the data plane reads them, written straight into a store: each with its own
negotiation, agreement and dataset, and as asked its grant, usage and personal-data rows,
and the event of a suspension. For tests of `DataPlaneQueries.snapshots` and the policy
monitor's rounds, which need many transfers in given states and no connector around them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connector.store.consent_tables import PersonalDatasetRow
from connector.store.dataplane_tables import AgreementUsageRow, DataGrantRow
from connector.store.policy_tables import PolicyContextRow
from connector.store.store import Store
from connector.store.tables import AgreementRow, DatasetRow, EventRow, NegotiationRow, TransferRow

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
PEER = "did:web:peer.example"


def use(*constraints: dict[str, Any]) -> dict[str, Any]:
    """An agreement's policy: one `use` permission under `constraints`."""
    rule: dict[str, Any] = {"action": "use"}
    if constraints:
        rule["constraint"] = list(constraints)
    return {
        "@type": "Agreement",
        "@id": "urn:agreement",
        "target": "urn:dataset",
        "assigner": "did:web:owner.example",
        "assignee": PEER,
        "permission": [rule],
    }


def until(at: datetime) -> dict[str, Any]:
    return {"leftOperand": "dateTime", "operator": "lt", "rightOperand": at.isoformat()}


def from_(at: datetime) -> dict[str, Any]:
    return {"leftOperand": "dateTime", "operator": "gteq", "rightOperand": at.isoformat()}


def add_transfer(
    store: Store,
    tid: str,
    *,
    role: str = "provider",
    state: str = "STARTED",
    pending: str | None = None,
    policy: dict[str, Any] | None = None,
    grant: bool = True,
    usage: dict[str, Any] | None = None,
    personal: bool = False,
    context: bool = True,
) -> None:
    """One transfer `tid` and the rows its snapshot joins (agreement `a-<tid>`, dataset
    `d-<tid>`), in one transaction. `usage`: the agreement's usage row's values; `context`:
    the consumer's claims kept when it started (the decision point's requester)."""
    agreement, dataset = f"a-{tid}", f"d-{tid}"
    with store.transaction() as tx:
        tx.add(
            DatasetRow(
                id=dataset, title=tid, data_address={"type": "file", "path": tid}, created_at=T0
            )
        )
        tx.add(
            NegotiationRow(
                id=f"n-{tid}",
                role=role,
                state="FINALIZED",
                peer_pid=f"peer-n-{tid}",
                counterparty_did=PEER,
                counterparty_address="http://peer.example/dsp",
                dataset_id=dataset,
                offer={"@id": "urn:offer"},
                offer_by="provider",
                created_at=T0,
                updated_at=T0,
            )
        )
        tx.add(
            AgreementRow(
                id=agreement,
                negotiation_id=f"n-{tid}",
                dataset_id=dataset,
                provider_did="did:web:owner.example",
                consumer_did=PEER,
                policy=policy if policy is not None else use(),
                signed_at=T0,
            )
        )
        tx.add(
            TransferRow(
                id=tid,
                role=role,
                state=state,
                peer_pid=f"peer-{tid}",
                counterparty_did=PEER,
                counterparty_address="http://peer.example/dsp",
                agreement_id=agreement,
                format="HttpData-PULL",
                pending=pending,
                next_attempt_at=T0 if pending else None,
                created_at=T0,
                updated_at=T0,
            )
        )
        if grant:
            tx.add(
                DataGrantRow(
                    transfer_id=tid,
                    consumer_did=PEER,
                    access_expires_at=T0 + timedelta(minutes=5),
                    updated_at=T0,
                )
            )
        if usage is not None:
            tx.add(AgreementUsageRow(agreement_id=agreement, **usage))
        if personal:
            tx.add(PersonalDatasetRow(dataset_id=dataset, subject_field="resident", created_at=T0))
        if context:
            tx.add(
                PolicyContextRow(
                    transfer_id=tid,
                    agreement_id=agreement,
                    requester={"role": "municipality"},
                    purpose=None,
                    created_at=T0,
                )
            )


def suspend(store: Store, tid: str, *, direction: str, code: str, at: datetime = T0) -> None:
    """The event of `tid`'s move to SUSPENDED: `direction` outbound when we suspended it."""
    with store.transaction() as tx:
        tx.add(
            EventRow(
                at=at,
                process="transfer",
                process_id=tid,
                role="provider",
                direction=direction,
                message="SUSPENSION",
                from_state="STARTED",
                to_state="SUSPENDED",
                peer_did=PEER,
                detail={"code": code, "reason": f"suspended: {code}"},
            )
        )
