"""The consent API of a running connector: the operator's endpoints, the resident portal's
narrow scope, signed receipts (verified offline, tampering detected), the audit log's events,
and the `tsunagu consent` commands."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from click.testing import CliRunner

from connector.api.client import ManagementError
from connector.api.consent_client import ConsentClient, PortalClient, consent_body
from connector.cli import main
from connector.demo.localspace import LocalDataspace, Participant
from connector.identity.errors import IdentityError
from connector.identity.receipts import keys_of, verify_receipt
from policies.consent import DPV, RECEIPT_PROFILE

from .conftest import DISASTER

pytestmark = pytest.mark.anyio
C = "did:web:localhost%3A9999"


@pytest.fixture
async def owner(
    tmp_path: Path, database_for: Callable[[str], str | None]
) -> AsyncIterator[Participant]:
    async with LocalDataspace(tmp_path, database_url_for=database_for) as space:
        await space.start_authority()
        yield await space.add("a", "A市", municipality_code="202151")


def body(subject: str = "r-001", **extra: Any) -> dict[str, Any]:
    return {"subject": subject, "purposes": [DISASTER], "recipients": [C], **extra}


async def did_document(owner: Participant) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{owner.settings.public_url}/.well-known/did.json")
    document: dict[str, Any] = response.json()
    return document


async def test_every_change_yields_a_receipt_that_verifies_offline(owner: Participant) -> None:
    consents = ConsentClient(owner.client)
    given = await consents.give(body(valid_until="2027-04-01T00:00:00+09:00"))
    assert given["status"] == "given" and given["valid_until"] == "2027-04-01T00:00:00+09:00"
    withdrawn = await consents.withdraw(given["id"])
    assert withdrawn["status"] == "withdrawn"
    keys = keys_of(await did_document(owner))
    claims = verify_receipt(withdrawn["receipt"]["receipt"], keys)
    receipt = claims["receipt"]
    assert claims["iss"] == owner.did and claims["jti"] == withdrawn["receipt"]["id"]
    assert receipt["dct:conformsTo"] == {"@id": RECEIPT_PROFILE}
    assert receipt["dct:relation"] == {"@id": given["id"]}
    assert receipt["dpv:hasConsentStatus"] == {"@id": DPV + "ConsentWithdrawn"}
    first = verify_receipt(given["receipt"]["receipt"], keys)["receipt"]
    assert first["dpv:hasConsentStatus"] == {"@id": DPV + "ConsentGiven"}
    shown = await consents.show(given["id"])
    assert [r["status"] for r in shown["receipts"]] == ["given", "withdrawn"]
    assert shown["jsonld"]["@type"] == "dpv:ConsentRecord"


async def test_a_tampered_receipt_is_rejected(owner: Participant) -> None:
    given = await ConsentClient(owner.client).give(body())
    token = given["receipt"]["receipt"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["receipt"]["dpv:hasDataSubject"]["dct:identifier"] = "r-999"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    keys = keys_of(await did_document(owner))
    with pytest.raises(IdentityError) as raised:
        verify_receipt(f"{header}.{forged}.{signature}", keys)
    assert raised.value.code == "token_bad_signature"
    with pytest.raises(IdentityError):
        verify_receipt(token, {})  # no key: not verifiable, never accepted


async def test_changes_are_events_in_the_audit_log(owner: Participant) -> None:
    consents = ConsentClient(owner.client)
    given = await consents.give(body())
    await consents.withdraw(given["id"])
    with owner.connector.store.transaction() as tx:
        events = tx.events(given["id"])
    assert [(e.process, e.message, e.to_state) for e in events] == [
        ("consent", "ConsentGiven", "given"),
        ("consent", "ConsentWithdrawn", "withdrawn"),
    ]
    assert "r-001" not in json.dumps([e.detail for e in events])  # no subject id in the log
    async with httpx.AsyncClient() as http:
        entries = (
            await http.get(
                f"{owner.settings.public_url}/audit/entries",
                headers={"Authorization": f"Bearer {owner.settings.management_token}"},
            )
        ).json()
    kinds = [e["entry"]["kind"] for e in entries["entries"]]
    assert kinds.count("consent.transition") == 2


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"subject": ""}, "invalid_consent"),
        ({"purposes": ["https://w3id.org/tsunagu/vocab/purpose/disastr-response"]}, "unknown_purpose"),
        ({"recipients": ["https://example.org/someone"]}, "invalid_recipient"),
        ({"valid_until": "2026-05-01T00:00:00"}, "invalid_consent"),
        ({"extra": 1}, "invalid_consent"),
    ],
)  # fmt: skip
async def test_bad_input_is_refused_and_changes_nothing(
    owner: Participant, change: dict[str, Any], code: str
) -> None:
    consents = ConsentClient(owner.client)
    with pytest.raises(ManagementError) as raised:
        await consents.give({**body(), **change})
    assert raised.value.code == code
    assert await consents.records() == []


async def test_withdrawn_stays_withdrawn(owner: Participant) -> None:
    consents = ConsentClient(owner.client)
    given = await consents.give(body())
    await consents.withdraw(given["id"])
    with pytest.raises(ManagementError) as raised:
        await consents.withdraw(given["id"])
    assert raised.value.code == "consent_not_active"
    with pytest.raises(ManagementError) as missing:
        await consents.withdraw("urn:uuid:nope")
    assert missing.value.code == "unknown_consent"


async def test_the_portal_acts_for_one_subject_with_its_own_token(owner: Participant) -> None:
    consents = ConsentClient(owner.client)
    portal = await consents.add_portal("kurashi-portal")
    base = owner.settings.public_url
    other = await consents.give(body("r-002"))
    async with PortalClient(base, portal["token"]) as resident:
        given = await resident.give(
            "r-001", consent_body(None, purposes=[DISASTER], recipients=[C])
        )
        assert given["history"][0]["method"] == "portal:kurashi-portal"
        assert [c["id"] for c in await resident.records("r-001")] == [given["id"]]
        assert (await resident.show("r-001", given["id"]))["status"] == "given"
        with pytest.raises(ManagementError) as foreign:  # another subject's record
            await resident.show("r-001", other["id"])
        assert foreign.value.code == "unknown_consent"
        with pytest.raises(ManagementError):
            await resident.withdraw("r-001", other["id"])
        assert (await consents.show(other["id"]))["status"] == "given"
        with pytest.raises(ManagementError) as mixed:
            await resident.give("r-001", body("r-002"))
        assert mixed.value.code == "wrong_subject"
        assert (await resident.withdraw("r-001", given["id"]))["status"] == "withdrawn"
    async with httpx.AsyncClient(base_url=base) as http:
        as_portal = {"Authorization": f"Bearer {portal['token']}"}
        as_operator = {"Authorization": f"Bearer {owner.settings.management_token}"}
        assert (await http.get("/management/consents", headers=as_portal)).status_code == 401
        assert (await http.get("/management/datasets", headers=as_portal)).status_code == 401
        listed = await http.get("/consent-portal/subjects/r-001/consents", headers=as_operator)
        assert listed.status_code == 401
        assert listed.json()["error"]["code"] == "portal_unauthenticated"
        assert (await http.get("/consent-portal/consents", headers=as_portal)).status_code == 404
        await consents.revoke_portal(portal["id"])
        revoked = await http.get("/consent-portal/subjects/r-001/consents", headers=as_portal)
        assert revoked.status_code == 401


async def test_the_cli_gives_lists_shows_withdraws_and_verifies(
    owner: Participant, tmp_path: Path
) -> None:
    directory = str(owner.settings.directory)

    def tsunagu(*args: str) -> Any:
        result = CliRunner().invoke(main, [*args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout) if result.stdout.strip() else None

    async def cli(*args: str) -> Any:
        return await anyio.to_thread.run_sync(lambda: tsunagu(*args))

    given = await cli(
        "consent", "give", directory, "--subject", "r-001", "--purpose", DISASTER,
        "--recipient", "role:municipality", "--until", "2027-01-01T00:00:00+09:00",
    )  # fmt: skip
    assert given["recipients"] == ["role:municipality"]
    listed = await cli("consent", "list", directory, "--status", "given")
    assert [c["id"] for c in listed] == [given["id"]]
    shown = await cli("consent", "show", directory, given["id"], "--jsonld")
    assert shown["@type"] == "dpv:ConsentRecord"
    withdrawn = await cli("consent", "withdraw", directory, given["id"])
    assert withdrawn["status"] == "withdrawn"
    receipt = tmp_path / "receipt.json"
    receipt.write_text(json.dumps(withdrawn))
    document = tmp_path / "did.json"
    document.write_text(json.dumps(await did_document(owner)))
    verified = await cli("consent", "verify", str(receipt), "--did-document", str(document))
    assert verified["dpv:hasConsentStatus"]["@id"] == DPV + "ConsentWithdrawn"
    token = withdrawn["receipt"]["receipt"]
    flipped = "A" if token[-5] != "A" else "B"
    withdrawn["receipt"]["receipt"] = token[:-5] + flipped + token[-4:]
    receipt.write_text(json.dumps(withdrawn))
    bad = CliRunner().invoke(
        main, ["consent", "verify", str(receipt), "--did-document", str(document)]
    )
    assert bad.exit_code == 1 and "NOT valid" in bad.output
