"""The row filters of personal data, chunk by chunk: CSV (quotes, line breaks in fields, CRLF,
Shift_JIS), NDJSON (the fast path and the exact one agree), JSON arrays split anywhere."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator

import pytest

from connector.dataplane import consent_rows
from connector.dataplane.consent_rows import Unfilterable, filtered, trie_pattern

pytestmark = pytest.mark.anyio
ALLOWED = frozenset({"r-1", "r-3", "a|b", "R1"})


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def run(data: bytes, media: str, size: int = 5, allowed: frozenset[str] = ALLOWED) -> bytes:
    out = b""
    async for chunk in await filtered(chunks_of(data, size), media, "id", allowed):
        out += chunk
    return out


@pytest.mark.parametrize("size", [1, 3, 7, 1 << 20])
async def test_csv_rows_pass_unchanged_whatever_the_chunking(size: int) -> None:
    data = (
        b'id,name,note\r\nr-1,"Yamada, Hanako","two\nlines"\r\nr-2,x,y\r\n'
        b'a|b,"say ""hi""",z\r\nr-3,,\r\nR12,no,prefix\r\nshort\r\n'
    )
    out = await run(data, "text/csv", size)
    assert out == (
        b'id,name,note\r\nr-1,"Yamada, Hanako","two\nlines"\r\na|b,"say ""hi""",z\r\nr-3,,\r\n'
    )


async def test_csv_subject_in_another_column_and_shift_jis() -> None:
    data = "氏名,id\n山田,r-1\n佐藤,r-2\n".encode("cp932")
    assert (await run(data, "text/csv")).decode("cp932") == "氏名,id\n山田,r-1\n"


async def test_csv_without_the_subject_column_is_refused() -> None:
    with pytest.raises(Unfilterable):
        await run(b"name\nr-1\n", "text/csv")


def test_the_fast_csv_path_and_the_plain_one_agree() -> None:
    rng = random.Random(7)
    ids = ["r-1", "r-2", "r-3", "a|b", "R1", "R", "", "x.y"]
    for _ in range(200):
        column = rng.randrange(3)
        lines = ["a,b,c"] + [
            ",".join(rng.choice(ids) for _ in range(rng.randrange(1, 4)))
            + ("\r" if rng.random() < 0.2 else "")
            for _ in range(rng.randrange(1, 30))
        ]
        data = ("\n".join(lines) + "\n").encode()
        allowed = frozenset(rng.sample(ids, rng.randrange(0, len(ids))))
        outs = []
        for limit in (consent_rows.MAX_TRIE, 0):
            consent_rows.MAX_TRIE = limit
            try:
                rows = consent_rows._Csv("abc"[column], allowed)
                out = b"".join(rows.feed(data[i : i + 9]) for i in range(0, len(data), 9))
                outs.append(out + rows.end())
            finally:
                consent_rows.MAX_TRIE = 100_000
        assert outs[0] == outs[1], (data, allowed)


@pytest.mark.parametrize("compact", [True, False])
async def test_ndjson_fast_and_exact_paths_agree(compact: bool) -> None:
    separators = (",", ":") if compact else (", ", ": ")
    rows = [{"id": s, "v": i} for i, s in enumerate(["r-1", "r-2", "r-3", "R12", "R1"])]
    fast = "".join(json.dumps(r, separators=separators) + "\n" for r in rows).encode()
    odd = b'{"v": 1, "id": "r-1"}\n{"id": "r-2", "nested": {"id": "r-1"}}\n{"id": 1}\nnot json\n'
    assert await run(fast, "application/x-ndjson") == b"".join(
        json.dumps(r, separators=separators).encode() + b"\n" for r in rows if r["id"] in ALLOWED
    )
    assert await run(odd, "application/x-ndjson") == b'{"v": 1, "id": "r-1"}\n'


@pytest.mark.parametrize("size", [1, 4, 64])
async def test_json_arrays_split_anywhere(size: int) -> None:
    rows = [{"id": "r-1", "t": "[,]{"}, {"id": "r-2"}, {"id": "r-3", "x": [1, {"id": "r-2"}]}]
    data = json.dumps(rows, ensure_ascii=False, indent=2).encode()
    out = json.loads(await run(data, "application/json", size))
    assert [r["id"] for r in out] == ["r-1", "r-3"]
    with pytest.raises(Unfilterable):
        await run(data[:-3], "application/json", size)


def test_the_trie_matches_exactly_its_keys() -> None:
    import re

    keys = [b"R1", b"R12", b"R2", b"A.b", b"R13"]
    pattern = re.compile(trie_pattern(keys))
    for key in [*keys, b"R", b"R123", b"Axb", b"R3"]:
        assert bool(pattern.fullmatch(key)) == (key in keys), key


def test_ndjson_blocks_of_mixed_lines_read_the_same_on_both_paths() -> None:
    """Lines that start with the key mixed with lines without it, with it elsewhere or twice:
    the block-at-once path releases exactly what decoding each line does."""
    shapes = [
        '{{"id": "{s}", "v": 1}}',
        '{{"id":"{s}","v":2}}',
        '{{"v": 3}}',  # no subject: never released
        '{{"v": 4, "id": "{s}"}}',  # the key elsewhere
        '{{"id": "{s}", "id": "r-2"}}',  # twice: the last one counts when decoded
        '{{"id": "{s}", "nested": {{"id": "x"}}}}',
        "",
        "not json",
    ]
    rng = random.Random(7)
    subjects = ["r-1", "r-2", "r-3", "R1", "R12"]
    for _ in range(400):
        lines = [
            rng.choice(shapes[: rng.randint(1, len(shapes))]).format(s=rng.choice(subjects))
            for _ in range(rng.randint(1, 6))
        ]
        block = ("\n".join(lines) + "\n").encode()
        rows = consent_rows._Lines("id", ALLOWED)
        exact = rows._each(block.split(b"\n")[:-1])
        framed = b"\n" + block  # blocks come with the newline before them
        assert rows._lines(framed, 0, len(framed)) == exact, block
