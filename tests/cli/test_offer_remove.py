"""`tsunagu dataset offer remove` against a running connector: withdraws one offer, refuses the
last one and an unknown one in one line each, without a traceback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner, Result

from connector.cli import main
from connector.demo.localspace import LocalDataspace, Participant

pytestmark = pytest.mark.anyio

OPEN = {"@type": "Offer", "permission": [{"action": "use"}]}


@pytest.fixture
async def provider(
    tmp_path: Path, database_for: Callable[[str], str | None]
) -> AsyncIterator[Participant]:
    async with LocalDataspace(tmp_path, database_url_for=database_for) as space:
        await space.start_authority()
        yield await space.add("a", "A市")


async def tsunagu(*args: object) -> Result:
    runner = CliRunner()
    return await anyio.to_thread.run_sync(lambda: runner.invoke(main, [str(a) for a in args]))


async def test_offer_remove(provider: Participant) -> None:
    offers = [{"id": "urn:o:1", "policy": OPEN}, {"id": "urn:o:2", "policy": OPEN}]
    await provider.client.call(
        "POST", "/datasets", json={"id": "urn:ds:1", "title": "t", "offers": offers}
    )
    home = provider.settings.directory

    done = await tsunagu("dataset", "offer", "remove", home, "urn:ds:1", "urn:o:1")
    assert done.exit_code == 0, done.output
    assert done.output.strip() == "withdrew offer urn:o:1 from dataset urn:ds:1"

    for offer, code in [("urn:o:2", "last_offer"), ("urn:o:1", "unknown_offer")]:
        refused = await tsunagu("dataset", "offer", "remove", home, "urn:ds:1", offer)
        assert refused.exit_code != 0 and code in refused.output, refused.output
        assert "Traceback" not in refused.output and len(refused.output.strip().splitlines()) == 1
    left = await provider.client.call("GET", "/datasets/urn:ds:1/offers")
    assert [o["id"] for o in left] == ["urn:o:2"]
