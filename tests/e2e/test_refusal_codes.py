"""A refused peer learns a code it can act on; the provider logs the reason at the default
level; neither tells the peer anything of the provider's own set-up."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from connector.api.client import ManagementError
from connector.demo.localspace import LocalDataspace

pytestmark = pytest.mark.anyio


async def test_a_credential_of_another_did_is_named_to_the_consumer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with LocalDataspace(tmp_path) as space:
        await space.start_authority()
        provider = await space.add("provider", "A市")
        consumer = await space.add("consumer", "C村")
        # C村 presents A市's credential (read at its first request).
        consumer.settings.credential_path.write_text(provider.settings.credential_path.read_text())
        with caplog.at_level(logging.WARNING, logger="tsunagu.api"):
            with pytest.raises(ManagementError) as caught:
                await consumer.client.call("GET", "/catalog", params={"provider": provider.did})
    assert caught.value.code == "credential_subject_mismatch"
    assert "another DID" in str(caught.value)
    assert "trusted" not in str(caught.value)  # the provider's trust settings stay its own
    refusals = [
        r for r in caplog.records if r.levelno == logging.WARNING and "refused" in r.message
    ]
    assert refusals and "credential_subject_mismatch" in refusals[0].getMessage()
    assert consumer.did in refusals[0].getMessage() or provider.did in refusals[0].getMessage()
