"""`tsunagu policy check|explain|template`: the operator's tools on files, decided here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from connector.cli import main

PURPOSE = "https://w3id.org/tsunagu/vocab/purpose/"


def _write(tmp_path: Path, policy: dict[str, Any]) -> str:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy))
    return str(path)


def _contract(tmp_path: Path) -> str:
    result = CliRunner().invoke(
        main,
        [
            "policy", "template", "commercial-contract",
            "--param", "participant=did:web:c.example",
            "--param", "start=2026-04-01T00:00:00+09:00",
            "--param", "end=2026-07-01T00:00:00+09:00",
            "--param", "requests=3",
            "--param", "price=30000",
            "--output", str(tmp_path / "contract.json"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return str(tmp_path / "contract.json")


def test_check_lists_the_terms_and_refuses_an_unknown_operand_by_name(tmp_path: Path) -> None:
    contract = _contract(tmp_path)
    human = CliRunner().invoke(main, ["policy", "check", contract])
    assert human.exit_code == 0 and "prohibitions  distribute" in human.output, human.output
    ok = CliRunner().invoke(main, ["policy", "check", contract, "--json"])
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.output)
    assert report["terms"]["leftOperands"] == ["count", "dateTime", "payAmount", "recipient"]
    assert report["prohibitions"] == ["distribute"]
    bad = _write(
        tmp_path,
        {
            "@type": "Offer",
            "@id": "urn:o",
            "permission": [
                {
                    "action": "use",
                    "constraint": [
                        {"leftOperand": "colour", "operator": "eq", "rightOperand": "x"}
                    ],
                }
            ],
        },
    )
    refused = CliRunner().invoke(main, ["policy", "check", bad])
    assert refused.exit_code == 1 and "colour" in refused.output


def test_explain_decides_at_the_given_instant_in_either_language(tmp_path: Path) -> None:
    contract = _contract(tmp_path)
    inside = CliRunner().invoke(
        main,
        [
            "policy",
            "explain",
            contract,
            "--as",
            "did:web:c.example",
            "--at",
            "2026-05-01T09:00:00+09:00",
        ],
    )
    assert inside.exit_code == 0 and inside.output.startswith("allowed"), inside.output
    # The period is [start, end): its end instant is outside.
    at_end = CliRunner().invoke(
        main,
        ["policy", "explain", contract, "--as", "did:web:c.example",
         "--at", "2026-07-01T00:00:00+09:00", "--lang", "ja"],
    )  # fmt: skip
    assert at_end.exit_code == 1 and at_end.output.startswith("拒否されます"), at_end.output
    assert "dateTime lt" in at_end.output
    someone_else = CliRunner().invoke(
        main,
        [
            "policy",
            "explain",
            contract,
            "--as",
            "did:web:x.example",
            "--at",
            "2026-05-01T09:00:00+09:00",
        ],
    )
    assert someone_else.exit_code == 1 and "recipient eq" in someone_else.output
    naive = CliRunner().invoke(
        main,
        ["policy", "explain", contract, "--as", "did:web:c.example", "--at", "2026-05-01T09:00:00"],
    )
    assert naive.exit_code == 2 and "time zone" in naive.output


def test_explain_reads_the_stated_purpose(tmp_path: Path) -> None:
    offer = _write(
        tmp_path,
        {
            "@type": "Offer",
            "@id": "urn:o",
            "permission": [
                {
                    "action": "use",
                    "constraint": [
                        {
                            "leftOperand": "purpose",
                            "operator": "isA",
                            "rightOperand": {"@id": PURPOSE + "disaster-response"},
                        }
                    ],
                }
            ],
        },
    )
    narrower = CliRunner().invoke(
        main,
        [
            "policy",
            "explain",
            offer,
            "--as",
            "did:web:c",
            "--purpose",
            PURPOSE + "evacuation-decision-support",
        ],
    )
    assert narrower.exit_code == 0, narrower.output
    marketing = CliRunner().invoke(
        main, ["policy", "explain", offer, "--as", "did:web:c", "--purpose", PURPOSE + "marketing"]
    )
    assert marketing.exit_code == 1 and "purpose isA" in marketing.output


def test_template_refuses_unknown_names_and_parameters() -> None:
    unknown = CliRunner().invoke(main, ["policy", "template", "free-lunch"])
    assert unknown.exit_code == 1 and "unknown_template" in unknown.output
    wrong = CliRunner().invoke(main, ["policy", "template", "open-data", "--param", "colour=red"])
    assert wrong.exit_code == 1 and "unknown_parameter" in wrong.output
    missing = CliRunner().invoke(main, ["policy", "template", "disaster-response"])
    assert missing.exit_code == 1 and "basin" in missing.output
    ok = CliRunner().invoke(main, ["policy", "template", "open-data"])
    assert (
        ok.exit_code == 0
        and json.loads(ok.output)["permission"][0]["duty"][0]["action"] == "attribute"
    )
