"""Progress on long work: the conversion hooks report the rows as they go, and `tsunagu
convert` shows a rate on standard error only when that is a terminal (rich's TTY_COMPATIBLE
stands in for one), never in what a script reads."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import main
from vocab.bulk import BLOCK, bulk_convert
from vocab.convert import convert_to
from vocab.mapping import load_mapping

ROOT = Path(__file__).parent.parent.parent
MAPPING = ROOT / "examples/vocab/a-city.toml"
READINGS = ROOT / "examples/vocab/a-city-readings.csv"
TERMINAL = {"TTY_COMPATIBLE": "1"}


@pytest.fixture
def many_rows(tmp_path: Path) -> tuple[Path, int]:
    """The example readings (of 1 September) repeated on later days, past several of bulk
    mode's blocks."""
    header, *rows = READINGS.read_text(encoding="utf-8").splitlines()
    assert all("9月1日" in row for row in rows)
    copies = 3 * BLOCK // len(rows) + 1
    assert copies < 30
    days = [row.replace("9月1日", f"9月{day}日") for day in range(1, copies + 1) for row in rows]
    path = tmp_path / "many.csv"
    path.write_text("\n".join([header, *days]) + "\n", encoding="utf-8")
    return path, len(days)


def test_bulk_conversion_reports_each_block(many_rows: tuple[Path, int]) -> None:
    source, count = many_rows
    seen: list[int] = []
    summary = bulk_convert(
        source, load_mapping(MAPPING), io.StringIO(), validate_every=100, on_rows=seen.append
    )
    assert len(seen) > 3 and sum(seen) == summary.rows == count
    assert all(n <= BLOCK for n in seen)


def test_conversion_reports_each_row(many_rows: tuple[Path, int]) -> None:
    source, count = many_rows
    seen: list[int] = []
    summary = convert_to(
        source, load_mapping(MAPPING), io.StringIO(), on_outcome=lambda o: seen.append(o.row)
    )
    assert seen == list(range(1, count + 1)) and summary.rows == count


@pytest.mark.parametrize("bulk", [[], ["--sample", "10"]], ids=["checked", "sampled"])
def test_convert_shows_a_rate_on_a_terminal_only(
    bulk: list[str], many_rows: tuple[Path, int], tmp_path: Path
) -> None:
    source, count = many_rows
    args = ["convert", str(source), "-m", str(MAPPING), "-o", str(tmp_path / "out.csv"), *bulk]
    shown = CliRunner().invoke(main, args, env=TERMINAL)
    assert shown.exit_code == 0, shown.output
    assert "rows/s" in shown.stderr and f"{count}/?" in shown.stderr
    assert shown.stdout == ""
    piped = CliRunner().invoke(main, args)
    assert piped.exit_code == 0, piped.output
    assert "rows/s" not in piped.stderr and f"{count} rows:" in piped.stderr
    scripted = CliRunner().invoke(main, [*args, "--json"], env=TERMINAL)
    assert "rows/s" not in scripted.stderr  # --json: nothing but the data
