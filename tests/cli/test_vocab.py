"""`tsunagu vocab show|diff|validate` and `tsunagu convert`, through click's runner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph

from connector.cli.convert import convert_command
from connector.cli.vocab import vocab_group


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_show_summarises_the_vocabulary(runner: CliRunner) -> None:
    result = runner.invoke(vocab_group, ["show"])
    assert result.exit_code == 0, result.output
    assert "tsunagu shared vocabulary 0.2.0" in result.output
    assert "tsu:ThemeScheme" in result.output
    assert "theme:river -> theme:river-water-level" in result.output


def test_show_a_term_in_turtle_and_json_ld(runner: CliRunner) -> None:
    turtle = runner.invoke(vocab_group, ["show", "threshold:flood-caution"])
    assert turtle.exit_code == 0
    graph = Graph().parse(data=turtle.output, format="turtle")
    assert len(graph) > 10 and "氾濫注意水位" in turtle.output
    jsonld = runner.invoke(vocab_group, ["show", "theme:flood", "--format", "jsonld"])
    assert json.loads(jsonld.output)["@context"]


def test_show_an_older_release_and_an_unknown_term(runner: CliRunner) -> None:
    old = runner.invoke(vocab_group, ["show", "--release", "0.1.0"])
    assert old.exit_code == 0 and "0.1.0" in old.output
    unknown = runner.invoke(vocab_group, ["show", "theme:volcano"])
    assert unknown.exit_code == 2 and "not a term" in unknown.output


def test_diff_between_releases(runner: CliRunner) -> None:
    text = runner.invoke(vocab_group, ["diff", "0.1.0", "current"])
    assert text.exit_code == 0
    assert "deprecated" in text.output and "theme:river -> theme:river-water-level" in text.output
    as_json = runner.invoke(vocab_group, ["diff", "0.1.0", "--format", "json"])
    assert json.loads(as_json.output)["to"] == "0.2.0"
    bad = runner.invoke(vocab_group, ["diff", "0.0.9", "current"])
    assert bad.exit_code == 2 and "neither a release" in bad.output


def test_diff_accepts_files(runner: CliRunner, tmp_path: Path) -> None:
    from vocab.vocabulary import release_graph

    path = tmp_path / "old.ttl"
    path.write_text(release_graph("0.1.0").serialize(format="turtle"), encoding="utf-8")
    result = runner.invoke(vocab_group, ["diff", str(path), "0.1.0"])
    assert result.exit_code == 0 and "no changes" in result.output


def test_validate_data_and_extensions(runner: CliRunner, examples: Path, tmp_path: Path) -> None:
    good = runner.invoke(
        vocab_group,
        ["validate", str(examples / "a-city-stations.ttl"), str(examples / "b-town-stations.ttl")],
    )
    assert good.exit_code == 0 and good.output.startswith("ok:")
    broken = tmp_path / "broken.ttl"
    broken.write_text(
        (examples / "b-town-stations.ttl").read_text("utf-8").replace('"085901"', '"85901"'),
        encoding="utf-8",
    )
    bad = runner.invoke(vocab_group, ["validate", str(broken)])
    assert bad.exit_code == 1 and "localGovernmentCode" in bad.output
    extension = runner.invoke(
        vocab_group, ["validate", "--extension", str(examples / "a-city-terms.ttl")]
    )
    assert extension.exit_code == 0 and "map onto the shared vocabulary" in extension.output


def test_convert_writes_records_and_a_summary(
    runner: CliRunner, examples: Path, tmp_path: Path
) -> None:
    out, report = tmp_path / "a.csv", tmp_path / "report.json"
    result = runner.invoke(
        convert_command,
        [
            "--mapping",
            str(examples / "a-city.toml"),
            str(examples / "a-city-readings.csv"),
            "-o",
            str(out),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "38 rows: 37 converted, 1 warned, 0 rejected; 75 records" in result.output
    assert "missing_value" in result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("id,type,observedProperty") and len(lines) == 76
    assert json.loads(report.read_text(encoding="utf-8"))["issues"][0]["field"] == "水位"


def test_convert_to_json_ld_on_standard_output(runner: CliRunner, examples: Path) -> None:
    result = runner.invoke(
        convert_command,
        [
            "-m",
            str(examples / "b-town.toml"),
            str(examples / "b-town-readings.json"),
            "--format",
            "jsonld",
        ],
    )
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert len(document["@graph"]) == 19


def test_rejected_rows_give_exit_status_1(
    runner: CliRunner, examples: Path, tmp_path: Path
) -> None:
    source = tmp_path / "a.csv"
    text = (examples / "a-city-readings.csv").read_text(encoding="utf-8")
    source.write_text(
        text.replace("0102,令和6年9月1日,9時00分", "0199,令和6年9月1日,9時00分"), "utf-8"
    )
    mapping = tmp_path / "a-city.toml"
    for name in ("a-city.toml", "a-city-station-codes.csv", "a-city-terms.ttl"):
        shutil.copy(examples / name, tmp_path / name)
    lenient = runner.invoke(
        convert_command, ["-m", str(mapping), str(source), "-o", str(tmp_path / "o.csv")]
    )
    assert lenient.exit_code == 1 and "1 rejected" in lenient.output
    assert "row 2: 観測所番号='0199'" in lenient.output
    target = tmp_path / "strict.csv"
    strict = runner.invoke(
        convert_command, ["-m", str(mapping), str(source), "-o", str(target), "--strict"]
    )
    assert strict.exit_code == 1 and "stopped" in strict.output
    assert not target.exists()  # strict output appears only when every row converted


def test_bulk_mode(runner: CliRunner, examples: Path, tmp_path: Path) -> None:
    out = tmp_path / "bulk.csv"
    args = ["-m", str(examples / "a-city.toml"), str(examples / "a-city-readings.csv")]
    bulk = runner.invoke(convert_command, [*args, "-o", str(out), "--sample", "10"])
    assert bulk.exit_code == 0 and "(8 checked with SHACL)" in bulk.output
    general = tmp_path / "general.csv"
    runner.invoke(convert_command, [*args, "-o", str(general)])
    assert sorted(out.read_text("utf-8").splitlines()) == sorted(
        general.read_text("utf-8").splitlines()
    )
    refused = runner.invoke(convert_command, [*args, "--sample", "10", "--format", "jsonld"])
    assert refused.exit_code == 2


def test_a_broken_mapping_is_exit_status_2(
    runner: CliRunner, examples: Path, tmp_path: Path
) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('[time]\nfield = "t"\n', encoding="utf-8")
    result = runner.invoke(
        convert_command, ["-m", str(mapping), str(examples / "a-city-readings.csv")]
    )
    assert result.exit_code == 2 and "[station]" in result.output


def test_help_texts_explain_the_commands(runner: CliRunner) -> None:
    help_text = runner.invoke(convert_command, ["--help"]).output
    for needed in ("--mapping", "--strict", "--sample", "和暦", "Examples"):
        assert needed in help_text
    assert "https://w3id.org/tsunagu/vocab/" in runner.invoke(vocab_group, ["--help"]).output


@pytest.mark.parametrize("bulk", [False, True])
def test_an_extra_csv_field_is_a_finding_and_strict_writes_nothing(
    runner: CliRunner, examples: Path, tmp_path: Path, bulk: bool
) -> None:
    source = tmp_path / "a.csv"
    text = (examples / "a-city-readings.csv").read_text(encoding="utf-8")
    # a remark typed after the last column: one field more than the header names
    source.write_text(
        text.replace(
            "0102,令和6年9月1日,9時00分,140,15,08290",
            "0102,令和6年9月1日,9時00分,140,15,08290,点検中",
        ),
        "utf-8",
    )
    mapping = tmp_path / "a-city.toml"
    for name in ("a-city.toml", "a-city-station-codes.csv", "a-city-terms.ttl"):
        shutil.copy(examples / name, tmp_path / name)
    mode = ["--sample", "10"] if bulk else []
    out = tmp_path / "o.csv"
    lenient = runner.invoke(
        convert_command, ["-m", str(mapping), str(source), "-o", str(out), *mode]
    )
    assert (
        "warning: row 2: (field 7)='点検中': the row has 7 fields; the header names 6"
        in lenient.output
    )
    assert "2 warned" in lenient.output and out.exists()
    target = tmp_path / "strict.csv"
    strict = runner.invoke(
        convert_command, ["-m", str(mapping), str(source), "-o", str(target), "--strict", *mode]
    )
    assert strict.exit_code == 1 and "stopped" in strict.output and "extra_field" in strict.output
    assert not target.exists()
