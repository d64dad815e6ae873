"""The consent template end to end: a personal dataset offered under
`personal_data_under_consent` is agreed for the purpose it names, and the agreement then
releases the rows of the residents whose consent covers that purpose."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.demo.localspace import LocalDataspace
from policies.templates import personal_data_under_consent

from .conftest import DISASTER, EVACUATION, give, personal_pull

pytestmark = pytest.mark.anyio


def source(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "residents.csv"
    path.write_text("resident_id,needs\nr-001,車椅子\nr-002,視覚\n")
    return {"type": "file", "path": str(path)}


async def test_an_offer_from_the_consent_template_is_agreed_and_filters_rows(
    space: LocalDataspace, tmp_path: Path
) -> None:
    dataset = "urn:tsunagu:dataset:202151:template-residents"
    offer = personal_data_under_consent(
        f"{dataset}:offer", purposes=[EVACUATION], recipients=[space["consumer"].did]
    ).to_json()
    pull = await personal_pull(space, source(tmp_path), dataset=dataset, offer=offer)
    await give(space, "r-001", purposes=(EVACUATION,))
    await give(space, "r-002", purposes=(DISASTER,))  # broader than the agreement's: covers it
    await give(space, "r-003", purposes=("https://w3id.org/dpv#Marketing",))
    response = await pull.get()
    assert response.status_code == 200, response.text
    assert response.text.splitlines() == ["resident_id,needs", "r-001,車椅子", "r-002,視覚"]


async def test_asking_for_the_templates_purpose_is_agreed(
    space: LocalDataspace, tmp_path: Path
) -> None:
    dataset = "urn:tsunagu:dataset:202151:template-ask"
    offer = personal_data_under_consent(
        f"{dataset}:offer", purposes=[DISASTER, EVACUATION]
    ).to_json()
    await space["provider"].client.call(
        "POST",
        "/datasets",
        json={
            "id": dataset,
            "title": "名簿",
            "data_address": source(tmp_path),
            "personal": {"subject_field": "resident_id"},
            "offers": [{"policy": offer}],
        },
    )
    asked = personal_data_under_consent(f"{dataset}:offer", purposes=[EVACUATION]).to_json()
    consumer = space["consumer"].client
    started = await consumer.call(
        "POST",
        "/negotiations",
        json={"provider": space["provider"].did, "dataset_id": dataset, "offer": asked},
    )
    done = await consumer.wait_for("negotiations", started["id"], ["FINALIZED", "TERMINATED"])
    assert done["state"] == "FINALIZED", done
