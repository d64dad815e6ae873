"""The demo's consent moment: A市's list of residents who need help evacuating (避難行動要支援者
名簿) is personal data; only residents who opted in are shared with C村, and a resident's
withdrawal removes their row from C村's very next read.

Residents give and withdraw consent through A市's resident portal (its own token, one subject
at a time); C村 reads through its connector and A市's data plane, as any transfer.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import httpx

from connector.api.consent_client import PortalClient, consent_body
from connector.errors import ConnectorError

if TYPE_CHECKING:
    from connector.demo.localspace import LocalDataspace
    from connector.demo.scenario import Steps

DISASTER = "https://w3id.org/tsunagu/vocab/purpose/disaster-response"
EVACUATION = "https://w3id.org/tsunagu/vocab/purpose/evacuation-decision-support"
DATASET = "urn:tsunagu:dataset:202151:evacuation-support-register"
RESIDENTS = (
    ("A-0001", "中島1丁目", "車椅子", "yes"),
    ("A-0002", "中島2丁目", "酸素吸入", "yes"),
    ("A-0003", "上流町", "視覚", "no"),
)


def register(directory: Path) -> dict[str, Any]:
    """A市's register as its system exports it (CSV), and its data address."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "evacuation-support.csv"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["resident_id", "area", "needs"])
    writer.writerows(r[:3] for r in RESIDENTS)
    path.write_text(out.getvalue(), encoding="utf-8")
    return {"type": "file", "path": str(path)}


def offer() -> dict[str, Any]:
    """Municipalities may use it for evacuation decision support, and for nothing else."""
    return {
        "@type": "Offer",
        "@id": "urn:tsunagu:offer:202151:evacuation-support",
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
                        "rightOperand": [{"@id": EVACUATION}],
                    }
                ],
            },
            {"action": "distribute"},
        ],
    }


async def run(basin: LocalDataspace, steps: Steps) -> None:
    a = basin["a"]

    async def publish() -> Any:
        return await a.client.call(
            "POST",
            "/datasets",
            json={
                "id": DATASET,
                "title": "A市 避難行動要支援者名簿 (evacuation support register)",
                "data_address": register(basin.root / "a-owner"),
                "personal": {"subject_field": "resident_id"},
                "offers": [{"policy": offer()}],
            },
        )

    await steps.run("A市 publishes its evacuation support register as personal data", publish)
    portal = await steps.run(
        "A市 opens its resident portal (its own token: give, withdraw, show per resident)",
        lambda: a.client.call("POST", "/consent-portals", json={"name": "a-city-portal"}),
    )
    resident = PortalClient(a.settings.public_url, portal["token"])
    records: dict[str, str] = {}
    try:
        for subject, _area, _needs, opts_in in RESIDENTS:
            if opts_in != "yes":
                continue

            async def opt_in(subject: str = subject) -> Any:
                body = consent_body(None, purposes=[DISASTER], recipients=["role:municipality"])
                return await resident.give(subject, body)

            given = await steps.run(
                f"resident {subject} consents: disaster response, by municipalities", opt_in
            )
            records[subject] = given["id"]
            click.echo(f"      signed receipt {given['receipt']['id']}")

        transfer = await steps.run(
            "C村 agrees to use the register for evacuation decision support and starts a pull",
            lambda: _agree_and_start(basin),
        )
        before = await steps.run("C村 reads the register", lambda: _read(basin, transfer["id"]))
        click.echo(f"      rows released: {', '.join(before) or 'none'} (A-0003 did not opt in)")
        await steps.run(
            "resident A-0002 withdraws consent through the portal",
            lambda: resident.withdraw("A-0002", records["A-0002"]),
        )
        after = await steps.run(
            "C村 reads the register again, at once", lambda: _read(basin, transfer["id"])
        )
        click.echo(f"      rows released: {', '.join(after) or 'none'}")
    finally:
        await resident.aclose()
    if before != ["A-0001", "A-0002"] or after != ["A-0001"]:
        steps.failed = True
        raise ConnectorError(f"consent filtering went wrong: {before} then {after}")
    click.echo("      A-0002's row left C村's read the moment the consent was withdrawn")


async def _agree_and_start(basin: LocalDataspace) -> dict[str, Any]:
    c = basin["c"].client
    started = await c.call(
        "POST", "/negotiations", json={"provider": basin["a"].did, "dataset_id": DATASET}
    )
    done = await c.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=30)
    if done["state"] != "FINALIZED":
        raise ConnectorError(f"negotiation ended {done['state']}: {done.get('last_error')}")
    transfer = await c.call("POST", "/transfers", json={"agreement_id": done["agreement_id"]})
    record: dict[str, Any] = await c.wait_for("transfers", transfer["id"], ["STARTED"])
    if record["state"] != "STARTED":
        raise ConnectorError(f"transfer ended {record['state']}: {record.get('last_error')}")
    return record


async def _read(basin: LocalDataspace, transfer_id: str) -> list[str]:
    settings = basin["c"].settings
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{settings.port}/management",
        headers={"Authorization": f"Bearer {settings.management_token}"},
        timeout=30,
    ) as http:
        response = await http.get(f"/transfers/{transfer_id}/data")
    if response.status_code != 200:
        raise ConnectorError(f"the read answered {response.status_code}: {response.text[:200]}")
    rows = list(csv.reader(io.StringIO(response.text)))
    return [row[0] for row in rows[1:] if row]
