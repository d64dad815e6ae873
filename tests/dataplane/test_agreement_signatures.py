"""Both parties sign the agreement's canonical form (RFC 8785) and keep each other's
signature, verified against the signer's DID key; a signature over another form is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connector.demo.localspace import LocalDataspace
from connector.errors import MessageError
from connector.store.tables import AgreementRow

from .conftest import agree, offer, publish

pytestmark = pytest.mark.anyio


@pytest.fixture
def levels(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "levels.csv"
    path.write_text("station,level\n上流,1.42\n")
    return {"type": "file", "path": str(path)}


async def test_both_parties_signatures_are_kept_on_both_sides_and_verify(
    space: LocalDataspace, levels: dict[str, Any]
) -> None:
    terms = offer(
        "urn:offer:signed", {"leftOperand": "count", "operator": "lteq", "rightOperand": 5}
    )
    terms["prohibition"] = [{"action": "distribute"}]
    await publish(space, "urn:ds:signed", levels, terms)
    agreement_id = await agree(space, "urn:ds:signed")
    provider, consumer = space["provider"], space["consumer"]
    for side in (provider, consumer):
        assert side.connector.signer is not None
    for _ in range(3):  # each side's signature may cross the other's on the wire
        for side in (provider, consumer):
            assert side.connector.signer is not None
            await side.connector.signer.settle()
    views = [
        await s.client.call("GET", f"/agreements/{agreement_id}/signatures")
        for s in (provider, consumer)
    ]
    for view in views:
        assert view["complete"] is True, view
        assert {s["signer"] for s in view["signatures"]} == {provider.did, consumer.did}
    assert views[0]["canonical_sha256"] == views[1]["canonical_sha256"]
    # The consumer is shown the prohibition kept with the agreement.
    duties = await consumer.client.call("GET", f"/agreements/{agreement_id}/duties")
    assert duties["prohibited"] == ["distribute"]
    # A signature is over exactly this form: the same signature does not cover a changed one.
    signer = consumer.connector.signer
    assert signer is not None
    with consumer.connector.store.transaction() as tx:
        row = tx.agreement(agreement_id)
    [theirs] = [s for s in views[1]["signatures"] if s["signer"] == provider.did]
    await signer.verify(theirs["jws"], row, provider.did)
    changed = AgreementRow(**{**row.model_dump(), "policy": {**row.policy, "prohibition": []}})
    with pytest.raises(MessageError) as refused:
        await signer.verify(theirs["jws"], changed, provider.did)
    assert refused.value.code == "agreement_differs"
    with pytest.raises(MessageError) as wrong_signer:
        await signer.verify(theirs["jws"], row, consumer.did)
    assert wrong_signer.value.code == "invalid_signature"
