"""Every transparency-dev/merkle proof vector in ../shared/testvectors/merkle: each good one is
accepted, each `wantErr` one rejected (MANIFEST.md lists the extra rules those need)."""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

import pytest

from connector.audit.errors import ProofError
from connector.audit.merkle import verify_consistency, verify_inclusion

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "testvectors" / "merkle"


def _cases(kind: str) -> list[Path]:
    # Collected at import, so a missing folder must fail loudly rather than parametrise to nothing.
    folder = VECTORS / kind
    files = sorted(folder.rglob("*.json")) if folder.is_dir() else []
    return files or [folder / "MISSING"]


def _load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        pytest.fail(f"no Merkle test vectors under {path.parent} (../shared/testvectors/merkle)")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        return value.encode()  # "additional" cases carry placeholder strings


def _id(path: Path) -> str:
    return str(path.relative_to(VECTORS)) if path.is_relative_to(VECTORS) else path.name


@pytest.mark.parametrize("path", _cases("inclusion"), ids=_id)
def test_inclusion_vector(path: Path) -> None:
    case = _load(path)
    args = (
        case["leafIdx"],
        case["treeSize"],
        _b64(case["leafHash"]),
        [_b64(p) for p in case["proof"] or []],
        _b64(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", _cases("consistency"), ids=_id)
def test_consistency_vector(path: Path) -> None:
    case = _load(path)
    args = (
        case["size1"],
        case["size2"],
        _b64(case["root1"]),
        _b64(case["root2"]),
        [_b64(p) for p in case["proof"] or []],
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_every_vector_folder_is_read() -> None:
    inclusion, consistency = _cases("inclusion"), _cases("consistency")
    assert all(p.is_file() for p in inclusion + consistency), "vector folders missing"
    assert len(inclusion) + len(consistency) == 196  # the count the spec note reports
    good = [p for p in inclusion + consistency if not json.loads(p.read_text())["wantErr"]]
    assert good and len(good) < 196  # both kinds are exercised
