"""Installing works everywhere: a wheel built from this tree, installed (not editable) in a fresh
virtualenv, runs `tsunagu --help` and the whole demo from a directory outside the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNSHIPPED = (".git", ".venv", "build", "*.egg-info", "*_cache", ".hypothesis", "__pycache__")


def _run(args: list[str | Path], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_a_wheel_installed_elsewhere_runs_the_demo(tmp_path: Path) -> None:
    # Built from a copy: setuptools keeps a build/ folder in the tree it builds, whose stale
    # files would otherwise end up in the next wheel (and be tested instead of the source).
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*UNSHIPPED))
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, source], source, 300
    )
    (wheel,) = wheels.glob("tsunagu-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python, tsunagu = env_dir / "bin" / "python", env_dir / "bin" / "tsunagu"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _run([python, "-m", "pip", "install", "-q", wheel], elsewhere, 600)

    where = _run([python, "-c", "import connector; print(connector.__file__)"], elsewhere, 60)
    assert Path(where.stdout.strip()).is_relative_to(env_dir), "imported from the checkout"
    assert "negotiate" in _run([tsunagu, "--help"], elsewhere, 60).stdout
    demo = _run([tsunagu, "demo"], elsewhere, 300)
    assert "C村 has every reading in one model" in demo.stdout
    assert list(elsewhere.iterdir()) == []  # the demo leaves nothing behind
