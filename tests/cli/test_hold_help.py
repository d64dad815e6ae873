"""Every command that acts on a held step says, in its --help, which step it takes and which
DSP message it sends (the operator reads it before deciding)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from connector.cli import main

ACTIONS = {
    ("negotiations", "approve"): ("REQUESTED", "ACCEPTED", "VERIFIED", "OFFERED", "404"),
    ("negotiations", "accept"): ("OFFERED", "sends ACCEPTED"),
    ("negotiations", "verify"): ("AGREED", "sends the verification"),
    ("negotiations", "finalize"): ("VERIFIED", "sends FINALIZED"),
    ("negotiations", "counter"): ("ContractOfferMessage", "ContractRequestMessage"),
    ("negotiations", "terminate"): ("ContractNegotiationTerminationMessage", "REASON"),
    ("negotiations", "offer"): ("acceptance", "rules", "DID document"),
    ("transfer", "approve"): ("TransferStartMessage", "--waiting"),
    ("transfer", "terminate"): ("TransferTerminationMessage", "waits for its start"),
    ("transfer", "start"): ("REQUESTED", "exits 0", "--timeout"),
    ("negotiate",): ("exit 0", "--timeout", "a step waits for you"),
    ("dataset", "add"): ("--step", "after_accept=hold", "transfer_start=hold|window"),
}


@pytest.mark.parametrize("command", list(ACTIONS), ids=" ".join)
def test_each_hold_action_says_what_it_does(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # help is wrapped: compare unwrapped
    for words in ACTIONS[command]:
        assert words in text, (command, words)
