"""Helpers for the operator-hold tests: participants reconfigured with their own rules, offers
with the terms the tests need, raw protocol messages a peer would send, and the CLI as an
operator runs it (with readers of what it prints)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import anyio
from click.testing import CliRunner, Result

from connector.cli import main
from connector.control.hold_rules import HoldSettings
from connector.demo.localspace import LocalDataspace, Participant
from connector.settings import load_settings, write_settings
from tests.e2e.peer import CONTEXT, post, token

DISASTER_RESPONSE = "https://w3id.org/tsunagu/vocab/purpose/disaster-response"


async def configure(space: LocalDataspace, key: str, holds: HoldSettings) -> Participant:
    """Restart a participant with `holds` written to its tsunagu.toml (read back from there)."""
    settings = dataclasses.replace(await space.stop(key), holds=holds)
    write_settings(settings)
    return await space.serve(key, load_settings(settings.directory))


def paid_offer(offer_id: str, amount: str = "5000") -> dict[str, Any]:
    """Use, paying `amount` yen."""
    duty = {
        "action": "compensate",
        "constraint": [
            {"leftOperand": "payAmount", "operator": "eq", "rightOperand": amount, "unit": "JPY"}
        ],
    }
    return {"@type": "Offer", "@id": offer_id, "permission": [{"action": "use", "duty": [duty]}]}


def purpose_offer(offer_id: str, purpose: str = DISASTER_RESPONSE) -> dict[str, Any]:
    """Use for `purpose` or a narrower one."""
    constraint = {"leftOperand": "purpose", "operator": "isA", "rightOperand": {"@id": purpose}}
    return {
        "@type": "Offer",
        "@id": offer_id,
        "permission": [{"action": "use", "constraint": [constraint]}],
    }


def window_offer(offer_id: str, opens: str) -> dict[str, Any]:
    """Use from `opens` on."""
    constraint = {"leftOperand": "dateTime", "operator": "gteq", "rightOperand": opens}
    return {
        "@type": "Offer",
        "@id": offer_id,
        "permission": [{"action": "use", "constraint": [constraint]}],
    }


async def offer_to_consumer(
    space: LocalDataspace, dataset_id: str, offer_id: str
) -> dict[str, Any]:
    """The provider opens a negotiation with its offer (provider-initiated)."""
    consumer = space["consumer"]
    record: dict[str, Any] = await space["provider"].client.call(
        "POST",
        "/negotiations/offers",
        json={
            "consumer": consumer.did,
            "consumer_address": consumer.settings.dsp_base,
            "dataset_id": dataset_id,
            "offer_id": offer_id,
        },
    )
    return record


async def only_waiting(participant: Participant, kind: str = "negotiations") -> dict[str, Any]:
    """The one process of `kind` that waits for this participant's operator."""
    waiting = await participant.client.call("GET", f"/{kind}", params={"waiting": "true"})
    assert len(waiting) == 1, waiting
    record: dict[str, Any] = waiting[0]
    return record


async def peer_message(
    space: LocalDataspace, sender: str, path: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """`sender` posts `body` to the other participant's DSP `path`, signed as itself."""
    receiver = "consumer" if sender == "provider" else "provider"
    response = await post(
        space,
        path,
        {"@context": CONTEXT, **body},
        token(space, sender=sender, receiver=receiver),
        who=receiver,
    )
    return response.status_code, response.json() if response.content else {}


async def tsunagu(*args: str | Path) -> Result:
    """The CLI in a worker thread (it runs its own event loop)."""
    result = await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    )
    return result


def field(output: str, label: str) -> str:
    """A value of the summary a command prints (`  label   value` lines)."""
    for line in output.splitlines():
        if line.startswith(f"  {label}  "):
            return line[len(label) + 2 :].strip()
    raise AssertionError(f"no {label!r} in {output}")


def shown(output: str) -> tuple[str, str, str]:
    """What a summary is of: (negotiation|transfer, its state, its process id)."""
    kind, state = output.splitlines()[0].split()
    return kind, state, field(output, "process id")
