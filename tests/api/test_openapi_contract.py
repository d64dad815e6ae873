"""The management API's OpenAPI document is a contract: a bearer scheme the /docs page can
use, a description and typed answers for every operation, the error statuses it really
gives; and live answers, good and bad, validate against the schemas it publishes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from connector.demo.localspace import LocalDataspace, Participant

pytestmark = pytest.mark.anyio

OPEN = {"@type": "Offer", "permission": [{"action": "use"}]}
DSP_ANSWERS = ("ContractNegotiation", "TransferProcess", "Catalog", "Dataset")


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[Participant, Participant]]:
    async with LocalDataspace(tmp_path) as space:
        await space.start_authority()
        yield await space.add("provider", "A市"), await space.add("consumer", "C村")


async def _spec(participant: Participant) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(participant.settings.public_url + "/openapi.json")
    return response.json()  # type: ignore[no-any-return]


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, operations in spec["paths"].items()
        if path.startswith("/management")
        for method, operation in operations.items()
    ]


async def test_every_management_operation_is_described_typed_and_secured(
    pair: tuple[Participant, Participant],
) -> None:
    spec = await _spec(pair[0])
    scheme = spec["components"]["securitySchemes"]["managementToken"]
    assert (
        scheme
        == {
            "type": "http",
            "scheme": "bearer",
            "description": scheme["description"],
        }
        and "tsunagu.toml" in scheme["description"]
    )
    operations = _operations(spec)
    assert len(operations) >= 20
    for path, method, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation.get("security") == [{"managementToken": []}], where
        assert operation.get("description"), where
        responses = operation["responses"]
        # validation failures are 400 here; a 422 is only one the operation itself sends
        assert "HTTPValidationError" not in json.dumps(responses.get("422", "")), where
        assert "401" in responses, where
        if any("{" in part for part in path.split("/")):
            assert "404" in responses, where
        if "requestBody" in operation or operation.get("parameters"):
            assert "400" in responses, where
        success = next(code for code in responses if code.startswith("2"))
        content = responses[success].get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if path.endswith("/data"):
            continue  # the data itself, in whatever media type the provider serves
        if schema is None and content:
            continue  # not JSON (the catalogue as RDF): typed by its media types
        assert schema and schema != {}, where
        assert "additionalProperties" not in schema or schema.get("properties"), where
        for code, response in responses.items():
            if code.startswith(("4", "5")):
                error = response["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/ErrorOut"}, (where, code)


async def test_every_answer_of_the_whole_api_says_what_it_is(
    pair: tuple[Participant, Participant],
) -> None:
    """Beyond /management too (DSP, data plane, vocabulary, catalogue, operations): each
    success is typed JSON, bytes of named media types, or no body, never FastAPI's untyped
    default; DSP answers name the message type they carry."""
    spec = await _spec(pair[0])
    checked = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("description") or operation.get("summary"), where
            for code, response in operation["responses"].items():
                if not code.startswith("2"):
                    continue
                checked += 1
                for media, body in response.get("content", {}).items():
                    schema = body.get("schema")
                    assert schema not in (None, {}), (where, code, media)
                    if media != "application/json":
                        assert schema.get("type") == "string", (where, media)  # bytes or text
                standard = (
                    "/dsp/2025-1/negotiations",
                    "/dsp/2025-1/transfers",
                    "/dsp/2025-1/catalog",
                )
                if path.startswith(standard) and response.get("content"):
                    schema = response["content"]["application/json"]["schema"]
                    kind = schema.get("properties", {}).get("@type", {}).get("const")
                    assert kind in DSP_ANSWERS or "$ref" in json.dumps(schema), where
    assert checked >= 90


class Contract:
    """Calls the management API and checks each answer against the published schema."""

    def __init__(self, spec: dict[str, Any], participant: Participant) -> None:
        self.spec = spec
        self.base = participant.settings.public_url
        self.headers = {"Authorization": f"Bearer {participant.settings.management_token}"}
        self.checked: set[tuple[str, str, int]] = set()

    async def call(
        self,
        method: str,
        template: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        params = kwargs.pop("path", {})
        url = self.base + template.format(**params)
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.request(
                method, url, headers=self.headers if headers is None else headers, **kwargs
            )
        assert response.status_code == status, (method, template, response.text)
        path = template
        declared = self.spec["paths"][path][method.lower()]["responses"]
        assert str(status) in declared, (method, template, status, sorted(declared))
        schema = declared[str(status)]["content"]["application/json"]["schema"]
        body = response.json()
        errors = list(
            Draft202012Validator({**schema, "components": self.spec["components"]}).iter_errors(
                body
            )
        )
        assert not errors, (method, template, status, [e.message for e in errors], body)
        self.checked.add((method, path, status))
        return body


async def test_live_answers_match_the_published_schemas(
    pair: tuple[Participant, Participant], tmp_path: Path
) -> None:
    provider, consumer = pair
    spec = await _spec(provider)
    a, c = Contract(spec, provider), Contract(spec, consumer)
    data = tmp_path / "levels.csv"
    data.write_text("t,level\n1,2\n")
    address = {"type": "file", "path": str(data)}

    await a.call("GET", "/management/datasets", 401, headers={})
    ready = await a.call("GET", "/readyz", 200, headers={})  # operations: typed as well
    assert ready["status"] == "ready" and ready["checks"]["credential"]["ok"]
    await a.call("GET", "/management/datasets", 200)
    made = await a.call(
        "POST",
        "/management/datasets",
        201,
        json={
            "id": "urn:ds:1",
            "title": "t",
            "data_address": address,
            "offers": [{"policy": OPEN}],
        },
    )
    await a.call("POST", "/management/datasets", 409, json={"id": "urn:ds:1", "title": "t"})
    await a.call("POST", "/management/datasets", 400, json={"id": "not an iri", "title": "t"})
    await a.call("POST", "/management/datasets", 400, content=b"{bad", headers={
        **a.headers, "Content-Type": "application/json"})  # fmt: skip
    one = {"dataset_id": "urn:ds:1"}
    await a.call("GET", "/management/datasets/{dataset_id}", 200, path=one)
    await a.call("GET", "/management/datasets/{dataset_id}", 404, path={"dataset_id": "urn:no"})
    await a.call("PATCH", "/management/datasets/{dataset_id}", 200, path=one, json={"title": "u"})
    await a.call("PATCH", "/management/datasets/{dataset_id}", 400, path=one, json={"title": ""})
    offer = {"id": "urn:offer:2", "policy": OPEN}
    await a.call("POST", "/management/datasets/{dataset_id}/offers", 201, path=one, json=offer)
    await a.call("POST", "/management/datasets/{dataset_id}/offers", 409, path=one, json=offer)
    await a.call("GET", "/management/datasets/{dataset_id}/offers", 200, path=one)

    await c.call("GET", "/management/catalog", 200, params={"provider": provider.did})
    started = await c.call(
        "POST",
        "/management/negotiations",
        201,
        json={
            "provider": provider.did,
            "dataset_id": "urn:ds:1",
            "offer_id": made["offers"][0]["id"],
        },
    )
    pid = {"pid": started["id"]}
    done = await c.call(
        "GET", "/management/negotiations/{pid}", 200, path=pid, params={"wait": "FINALIZED"}
    )
    assert done["state"] == "FINALIZED"
    await c.call("GET", "/management/negotiations/{pid}", 404, path={"pid": "urn:uuid:x"})
    await c.call("GET", "/management/negotiations", 200)
    await c.call("GET", "/management/negotiations", 400, params={"limit": 0})
    await c.call(
        "POST", "/management/negotiations/{pid}/approve", 409, path=pid
    )  # nothing waits for a decision
    agreement = {"agreement_id": done["agreement_id"]}
    await c.call("GET", "/management/agreements", 200)
    await c.call("GET", "/management/agreements/{agreement_id}", 200, path=agreement)
    await c.call("GET", "/management/agreements/{agreement_id}", 404, path={"agreement_id": "x"})

    transfer = await c.call(
        "POST", "/management/transfers", 201, json={"agreement_id": done["agreement_id"]}
    )
    await c.call("POST", "/management/transfers", 404, json={"agreement_id": "urn:none"})
    tid = {"pid": transfer["id"]}
    await c.call("GET", "/management/transfers/{pid}", 200, path=tid, params={"wait": "STARTED"})
    await c.call("GET", "/management/transfers", 200)
    await c.call("POST", "/management/transfers/{pid}/{action}", 200, path={**tid, "action": "suspend"}, json={})  # fmt: skip
    await c.call("POST", "/management/transfers/{pid}/{action}", 404, path={"pid": "x", "action": "resume"}, json={})  # fmt: skip

    await a.call("POST", "/management/datasets/{dataset_id}/retire", 200, path=one, json={})
    await a.call("DELETE", "/management/datasets/{dataset_id}", 409, path=one)
    await a.call("POST", "/management/agreements/{agreement_id}/revoke", 200, path=agreement, json={})  # fmt: skip
    await a.call("POST", "/management/datasets", 201, json={"id": "urn:ds:spare", "title": "s"})
    await a.call("DELETE", "/management/datasets/{dataset_id}", 200, path={"dataset_id": "urn:ds:spare"})  # fmt: skip
    assert len(a.checked | c.checked) >= 30, json.dumps(sorted(a.checked | c.checked))
    await _policy_tools(a, c, agreement, tid)
    await _catalogue(a)
    await _consent(a)


async def _policy_tools(
    a: Contract, c: Contract, agreement: dict[str, str], transfer: dict[str, str]
) -> None:
    offer = {**OPEN, "@id": "urn:offer:check"}
    await a.call("POST", "/management/policies/check", 200, json={"policy": offer})
    await a.call("POST", "/management/policies/check", 400, json={"policy": {"@type": "x"}})
    decision = await a.call(
        "POST", "/management/policies/explain", 200, json={"policy": offer, "as": "did:web:c"}
    )
    assert decision["allowed"] is True
    names = await a.call("GET", "/management/policies/templates", 200)
    made = await a.call("POST", "/management/policies/templates/{name}", 200, path={"name": "open-data"}, json={"params": {"uid": "urn:p:1"}})  # fmt: skip
    assert made["@id"] == "urn:p:1" and "open-data" in names["templates"]
    await a.call("POST", "/management/policies/templates/{name}", 404, path={"name": "none"}, json={})  # fmt: skip
    await a.call("GET", "/management/alerts", 200)
    area = "https://w3id.org/tsunagu/id/basin/x"
    await a.call("PUT", "/management/alerts", 200, json={"area": area, "level": 3})
    await a.call("PUT", "/management/alerts", 400, json={"area": area, "level": 9})
    await a.call("GET", "/management/agreements/{agreement_id}/duties", 200, path=agreement)
    await a.call("GET", "/management/agreements/{agreement_id}/duties", 404, path={"agreement_id": "x"})  # fmt: skip
    await a.call("GET", "/management/agreements/{agreement_id}/signatures", 200, path=agreement)
    await a.call("GET", "/management/agreements/{agreement_id}/signatures", 404, path={"agreement_id": "x"})  # fmt: skip
    await c.call("POST", "/management/transfers/{pid}/stored", 200, path=transfer, json={"path": "/tmp/x"})  # fmt: skip
    await c.call("POST", "/management/transfers/{pid}/stored", 404, path={"pid": "x"}, json={"path": "/tmp/x"})  # fmt: skip
    await c.call("POST", "/management/duties/sweep", 200)
    await c.call("POST", "/management/transfers/{pid}/approve", 409, path=transfer)
    await c.call("POST", "/management/transfers/{pid}/approve", 404, path={"pid": "x"})


async def _catalogue(a: Contract) -> None:
    entries = "/management/catalog/entries"
    await a.call(
        "POST",
        "/management/datasets",
        201,
        json={"id": "urn:ds:cat", "title": "c", "offers": [{"policy": OPEN}]},
    )
    await a.call("GET", entries + "/{dataset_id}", 200, path={"dataset_id": "urn:ds:cat"})
    await a.call("GET", entries + "/{dataset_id}", 404, path={"dataset_id": "urn:none"})
    await a.call("POST", "/management/catalog/validate", 400, json={"document": "{", "format": "dsp"})  # fmt: skip
    await a.call("GET", "/management/catalog/peers", 200)
    await a.call("GET", "/management/catalog/search", 200, params={"q": "x"})
    await a.call("GET", "/management/catalog/search", 400, params={"limit": 0})
    query = "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"
    await a.call("GET", "/management/catalog/sparql", 200, params={"query": query})
    await a.call("GET", "/management/catalog/sparql", 200, params={"query": "ASK { ?s ?p ?o }"})
    await a.call("GET", "/management/catalog/sparql", 400, params={"query": "nonsense"})


async def _consent(a: Contract) -> None:
    purpose = "https://w3id.org/tsunagu/vocab/purpose/disaster-response"
    given = await a.call(
        "POST",
        "/management/consents",
        201,
        json={"subject": "r-1", "purposes": [purpose], "recipients": ["did:web:localhost"]},
    )
    await a.call("POST", "/management/consents", 400, json={"subject": "r-1"})
    one = {"record_id": given["id"]}
    await a.call("GET", "/management/consents", 200)
    await a.call("GET", "/management/consents", 400, params={"status": "asleep"})
    await a.call("GET", "/management/consents/{record_id}", 200, path=one)
    await a.call("GET", "/management/consents/{record_id}", 404, path={"record_id": "urn:x"})
    await a.call("GET", "/management/consents/{record_id}/receipts", 200, path=one)
    await a.call("POST", "/management/consents/{record_id}/withdraw", 200, path=one)
    await a.call("POST", "/management/consents/{record_id}/withdraw", 404, path={"record_id": "urn:x"})  # fmt: skip
    portal = await a.call("POST", "/management/consent-portals", 201, json={"name": "portal"})
    await a.call("POST", "/management/consent-portals", 400, json={"name": 3})
    await a.call("GET", "/management/consent-portals", 200)
    revoke = "/management/consent-portals/{portal_id}/revoke"
    await a.call("POST", revoke, 200, path={"portal_id": portal["id"]})
    await a.call("POST", revoke, 404, path={"portal_id": "none"})


async def test_each_dsp_endpoint_publishes_the_message_it_reads(
    pair: tuple[Participant, Participant], dsp_dir: Path
) -> None:
    """The request body of every DSP POST is in the document; the spec's own examples fit
    it, and each property it calls required is one our parser refuses a message without."""
    from connector.errors import MessageError
    from connector.protocol.messages import MESSAGE_TYPES, parse_message

    spec = await _spec(pair[0])
    read_by: dict[str, dict[str, Any]] = {}
    for path, operations in spec["paths"].items():
        if not path.startswith("/dsp/") or "post" not in operations:
            continue
        body = operations["post"].get("requestBody")
        assert body and body["required"], path
        schema = body["content"]["application/json"]["schema"]
        if "/tsunagu/" in path:  # our extensions: an object their service checks, in words
            assert schema == {"type": "object"} and body["description"], path
            continue
        for one in schema.get("oneOf", [schema]):
            read_by[one["title"]] = one
    inbound = {
        "CatalogRequestMessage",
        *(m.TYPE for m in MESSAGE_TYPES if m.TYPE.startswith(("Contract", "Transfer"))),
    } - {"ContractNegotiation", "ContractNegotiationError", "TransferProcess", "TransferError"}
    assert set(read_by) == inbound
    models = {m.TYPE: m for m in MESSAGE_TYPES}
    seen = 0
    for path in sorted(dsp_dir.glob("*/example/*.json")):
        example = json.loads(path.read_text())
        kind = example.get("@type") if isinstance(example, dict) else None
        if kind not in read_by:
            continue
        seen += 1
        validator = Draft202012Validator(read_by[kind])
        assert not list(validator.iter_errors(example)), path.name
        for name in read_by[kind]["required"]:
            cut = {k: v for k, v in example.items() if k != name}
            assert list(validator.iter_errors(cut)), (path.name, name)
            with pytest.raises(MessageError):
                parse_message(cut, models[kind])
    assert seen >= len(inbound)
