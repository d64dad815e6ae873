"""A provider (A市) holding personal data and a consumer (C村), on loopback, with helpers to
publish a personal dataset, give consent and read through a pull transfer."""

from __future__ import annotations

from typing import Any

from connector.demo.localspace import LocalDataspace
from tests.dataplane.conftest import Pull, _collect_garbage, agree, space, timed

__all__ = ["Pull", "_collect_garbage", "space", "timed"]

DISASTER = "https://w3id.org/tsunagu/vocab/purpose/disaster-response"
EVACUATION = "https://w3id.org/tsunagu/vocab/purpose/evacuation-decision-support"
FIELD = "resident_id"


def consent_offer(offer_id: str, purpose: str = EVACUATION) -> dict[str, Any]:
    """Municipalities may use the data, for `purpose` only (prohibited for any other)."""
    return {
        "@type": "Offer",
        "@id": offer_id,
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {"leftOperand": "role", "operator": "eq", "rightOperand": "municipality"}
                ],
            }
        ],
        "prohibition": [
            {
                "action": "use",
                "constraint": [
                    {
                        "leftOperand": "purpose",
                        "operator": "isNoneOf",
                        "rightOperand": [{"@id": purpose}],
                    }
                ],
            }
        ],
    }


async def personal_pull(
    space: LocalDataspace,
    address: dict[str, Any],
    *,
    dataset: str = "urn:tsunagu:dataset:202151:residents",
    offer: dict[str, Any] | None = None,
) -> Pull:
    await space["provider"].client.call(
        "POST",
        "/datasets",
        json={
            "id": dataset,
            "title": "避難行動要支援者名簿",
            "data_address": address,
            "personal": {"subject_field": FIELD},
            "offers": [{"policy": offer or consent_offer(f"{dataset}:offer")}],
        },
    )
    agreement_id = await agree(space, dataset)
    consumer = space["consumer"].client
    started = await consumer.call("POST", "/transfers", json={"agreement_id": agreement_id})
    record = await consumer.wait_for("transfers", started["id"], ["STARTED"], timeout=20)
    assert record["state"] == "STARTED", record
    provider_id = record["data_address"]["endpoint"].rsplit("/data/", 1)[1]
    return Pull(space, record["id"], provider_id, agreement_id, record["data_address"])


async def give(
    space: LocalDataspace,
    subject: str,
    *,
    purposes: tuple[str, ...] = (DISASTER,),
    recipients: tuple[str, ...] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "subject": subject,
        "purposes": list(purposes),
        "recipients": list(recipients or (space["consumer"].did,)),
        **extra,
    }
    result: dict[str, Any] = await space["provider"].client.call("POST", "/consents", json=body)
    return result


async def withdraw(space: LocalDataspace, record_id: str) -> dict[str, Any]:
    result: dict[str, Any] = await space["provider"].client.call(
        "POST", f"/consents/{record_id}/withdraw"
    )
    return result
