"""schemathesis against the management API's own OpenAPI, on a real connector on loopback:
no 5xx, no status code the OpenAPI does not declare, a 405 names what is allowed (`Allow`),
and a request the API refuses changes nothing.

Each operation gets positive cases (inside the schema) and negative ones (outside it), drawn
by hypothesis from schemathesis' strategies; every response goes through schemathesis' checks.
(Its pytest loader `from_fixture` does not work with pytest 9, hence the loop.)"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import positive_data_acceptance

from connector.errors import MessageError
from connector.protocol.identifiers import check_storable
from tests.fuzz.conftest import EXAMPLES
from tests.fuzz.live import LiveSpace


async def _openapi(live: LiveSpace) -> Any:
    async with httpx.AsyncClient() as http:
        return (await http.get(live.url("provider") + "/openapi.json")).json()


def _unstorable(body: Any) -> bool:
    try:
        check_storable(body)
    except MessageError:
        return True
    return False


def _state(live: LiveSpace) -> Any:
    """What the operator can see changing: datasets, processes, agreements, the audit log."""
    return {
        path: live.call("provider", "GET", path)
        for path in ("/datasets", "/negotiations", "/transfers", "/agreements")
    }


@pytest.mark.parametrize("mode", [GenerationMode.NEGATIVE, GenerationMode.POSITIVE])
def test_management_api(live: LiveSpace, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_dict(live.run(lambda: _openapi(live)))
    schema.config.update(base_url=live.url("provider"))
    operations = [r.ok() for r in schema.include(path_regex="^/management/").get_all_operations()]
    assert len(operations) > 20  # the whole management API, not a corner of it
    failures: list[str] = []
    before = _state(live) if mode is GenerationMode.NEGATIVE else None

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: Case) -> None:
            # Not schemathesis' "schema-valid data is accepted": no schema can say that an ODRL
            # policy must be usable, an address must pass the outbound policy or no key in a
            # free-form object may hold NUL, and those are refused with their own 400 codes
            # (tests/e2e and tests/api show valid requests accepted).
            response = case.call_and_validate(
                headers=live.operator("provider"),
                timeout=30,
                excluded_checks=[positive_data_acceptance],
            )
            unstorable = _unstorable(case.body)
            if mode is GenerationMode.NEGATIVE:
                assert response.status_code < 300 or response.status_code >= 400
            if unstorable and mode is GenerationMode.POSITIVE:
                assert response.status_code == 400, response.text
                assert response.json()["error"]["code"] in ("invalid_characters", "invalid_request")

        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing outside the schema to send here
        except BaseException as exc:  # every operation is fuzzed, then all failures are shown
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{operation.label}: {exc}"[:2000])

    assert not failures, "\n\n".join(failures)
    if before is not None:
        assert _state(live) == before, "a refused request changed something"
