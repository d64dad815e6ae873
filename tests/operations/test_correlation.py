"""One correlation id across two connectors: an operator's request to the consumer carries
`X-Correlation-ID`; the DSP message the consumer sends for it carries the same id, and the
access lines on both sides name it. And the JSON log format."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from connector.demo.localspace import LocalDataspace
from connector.logs import CorrelationFilter, JsonFormatter, correlation_id
from tests.e2e.conftest import open_offer, publish

pytestmark = pytest.mark.anyio
DATASET = "urn:tsunagu:dataset:correlated"


async def test_the_id_crosses_connectors(
    space: LocalDataspace, caplog: pytest.LogCaptureFixture
) -> None:
    await publish(space["provider"], DATASET, open_offer("urn:offer:correlated"))
    consumer = space["consumer"]
    caplog.set_level(logging.INFO, logger="tsunagu.http")
    async with httpx.AsyncClient() as http:
        response = await http.post(
            consumer.settings.public_url + "/management/negotiations",
            json={"provider": space["provider"].did, "dataset_id": DATASET},
            headers={
                "Authorization": f"Bearer {consumer.settings.management_token}",
                "X-Correlation-ID": "case-4711",
            },
        )
    assert response.status_code == 201, response.text
    assert response.headers["x-correlation-id"] == "case-4711"
    done = await consumer.client.wait_for("negotiations", response.json()["id"], ["FINALIZED"])
    assert done["state"] == "FINALIZED"

    lines = [r for r in caplog.records if r.name == "tsunagu.http"]
    mine = {(r.participant, r.route) for r in lines if r.correlation_id == "case-4711"}  # type: ignore[attr-defined]
    assert (consumer.did, "/management/negotiations") in mine
    assert (space["provider"].did, "/dsp/2025-1/negotiations/request") in mine
    # a request without one gets a fresh id of its own
    async with httpx.AsyncClient() as http:
        plain = await http.get(consumer.settings.public_url + "/healthz")
        odd = await http.get(
            consumer.settings.public_url + "/healthz", headers={"X-Correlation-ID": "a b\\c"}
        )
    assert len(plain.headers["x-correlation-id"]) == 32
    assert odd.headers["x-correlation-id"] != "a b\\c"


def test_json_lines() -> None:
    record = logging.LogRecord("tsunagu.http", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    record.participant = "did:web:a"
    token = correlation_id.set("c-1")
    try:
        CorrelationFilter().filter(record)  # the handler's filter adds the request's id
    finally:
        correlation_id.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "GET /x" and line["level"] == "info"
    assert line["correlation_id"] == "c-1" and line["participant"] == "did:web:a"


@pytest.mark.parametrize(
    ("level", "alembic"),
    [
        (logging.INFO, logging.WARNING),
        (logging.WARNING, logging.WARNING),
        (logging.DEBUG, logging.DEBUG),
    ],
)
def test_migrations_speak_only_when_debugging(level: int, alembic: int) -> None:
    from connector.logs import configure

    root, quiet = logging.getLogger(), logging.getLogger("alembic")
    saved = (root.handlers[:], root.level, quiet.level)
    try:
        configure(level, json_format=False)
        assert quiet.getEffectiveLevel() == alembic
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        quiet.setLevel(saved[2])
