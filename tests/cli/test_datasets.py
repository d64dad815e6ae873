"""`tsunagu dataset add` refuses malformed JSON options in one line, before any request."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import main


@pytest.mark.parametrize("option", ["--policy", "--data-address"])
def test_malformed_json_is_one_line_not_a_traceback(tmp_path: Path, option: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{bad")
    value = str(bad) if option == "--policy" else "{bad"
    result = CliRunner().invoke(
        main, ["dataset", "add", str(tmp_path), "--id", "urn:x", "--title", "t", option, value]
    )
    assert result.exit_code == 2
    assert f"Invalid value for {option}: not JSON" in result.output
    assert "Traceback" not in result.output and result.exception is not None
    assert isinstance(result.exception, SystemExit)
