"""Row filters for personal data: only rows of consenting subjects pass, streamed.

A filter wraps a source's chunks and yields the rows whose subject field names a subject in
`Allowed` (the subjects whose consent covers this access, read once when the access began):

* CSV: the header row names the subject column; rows are passed through byte for byte.
  Blocks without quotes lose their refused rows in one `re.sub` (a trie of the subjects,
  matched where a row begins; the kept text is never split into rows), read in place;
  quoted fields (commas or line breaks inside quotes) take the csv module's exact path.
* NDJSON (and JSON that starts with an object): one JSON object per line.
* JSON arrays: `[ {...}, {...} ]`, one element at a time with the C decoder
  (`raw_decode`), without holding more than one chunk and one element.

Memory stays bounded by the source's chunk size plus one row (at most `MAX_ROW` bytes): no
whole payload is ever held. A row without the subject field, or one whose subject cannot be
read, is not released; a source that is not one of these formats is refused before any byte
leaves. NDJSON's fast path reads a line's subject from its first key and checks that the line
names the field once and holds no escape; the rest of such a line goes out as the source
wrote it, unparsed (a line the decoder would refuse for a flaw after its subject is released
if that subject consents, where the slow path would drop it).
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from itertools import compress
from operator import itemgetter, methodcaller
from typing import Any

from connector.dataplane.errors import SourceMisconfigured

MAX_ROW = 4 << 20
CSV_TYPES = ("text/csv", "application/csv", "text/comma-separated-values")
NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/ndjson", "jsonl")


MAX_TRIE = 100_000  # subjects beyond which the per-line path is used (compiling gets slow)


def trie_pattern(keys: Iterable[bytes]) -> bytes:
    """A regular expression matching exactly `keys`, shaped as a trie so that matching one
    field costs its length, not the number of keys (`re` tries alternatives in turn)."""
    root: dict[int, Any] = {}
    for key in keys:
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[-1] = {}
    return _render(root)


def _render(node: dict[int, Any]) -> bytes:
    end = -1 in node
    # Bytes whose subtrees read the same share one branch: `[0-9]` rather than ten.
    by_rest: dict[bytes, list[int]] = {}
    for byte, child in sorted(node.items()):
        if byte >= 0:
            by_rest.setdefault(_render(child), []).append(byte)
    branches = []
    for rest, group in by_rest.items():
        chars = b"".join(re.escape(bytes([b])) for b in group)
        branches.append((b"[" + chars + b"]" if len(group) > 1 else chars) + rest)
    if not branches:
        return b""
    body = branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"
    if end:
        return b"(?:" + body + b")?"
    return body


@functools.lru_cache(maxsize=16)
def _compiled(template: bytes, keys: frozenset[bytes]) -> re.Pattern[bytes]:
    """The line pattern for one set of consenting subjects. Kept for the next access with
    the same set (only the compiled form of the set is kept; the set itself is the consent
    gate's, exact at each access, so any change of consent gives another set and pattern)."""
    return re.compile(template.replace(b"KEYS", b"(?:" + trie_pattern(keys) + b")"))


@functools.lru_cache(maxsize=16)
def _encoded(subjects: frozenset[str], encoding: str) -> frozenset[bytes]:
    """The subjects as the source spells them; kept for the next access with the same set
    (the consent gate hands the same set object on while the decision holds)."""
    return frozenset(s.encode(encoding) for s in subjects)


class Unfilterable(SourceMisconfigured):
    code = "personal_data_unfilterable"


class Allowed:
    """The consenting subjects of one access, with when each one's cover ends."""

    def __init__(
        self,
        subjects: dict[str, datetime | None],
        clock: Callable[[], datetime],
        *,
        everyone: frozenset[str] | None = None,
        until: datetime | None = None,
    ) -> None:
        self.subjects = subjects
        self.clock = clock
        # All of `subjects` as one set, and the first end of cover among them: before it the
        # whole set is covered, and the same set (one object) goes to every access.
        self.everyone = everyone
        self.until = until

    def __contains__(self, subject: object) -> bool:
        if isinstance(subject, int) and not isinstance(subject, bool):
            subject = str(subject)
        if not isinstance(subject, str):
            return False
        if subject not in self.subjects:
            return False
        until = self.subjects[subject]
        return until is None or self.clock() < until

    def fixed(self) -> frozenset[str]:
        """For a finite read: the subjects covered at its start (an access is one instant)."""
        now = self.clock()
        if self.everyone is not None and (self.until is None or now < self.until):
            return self.everyone
        return frozenset(s for s, until in self.subjects.items() if until is None or now < until)

    def discard(self, subject: str) -> None:
        if self.everyone is not None:  # the subjects are shared with other accesses
            self.subjects, self.everyone = dict(self.subjects), None
        self.subjects.pop(subject, None)


def kind_of(content_type: str, first: bytes) -> str:
    media = content_type.split(";")[0].strip().lower()
    if media in CSV_TYPES or media.endswith("+csv"):
        return "csv"
    if media in NDJSON_TYPES or media.endswith(("ndjson", "jsonl")):
        return "ndjson"
    start = first.lstrip()[:1]
    if start == b"[":
        return "json"
    if start == b"{":
        return "ndjson"
    if media in ("application/json",) or media.endswith("+json"):
        raise Unfilterable("a personal dataset's JSON must be an array or one object per line")
    return "csv"


async def filtered(
    chunks: AsyncIterator[bytes], content_type: str, field: str, allowed: frozenset[str]
) -> AsyncIterator[bytes]:
    """The rows of consenting subjects. Reads the first chunk at once, so a source that
    cannot be filtered fails before the response begins."""
    first = b""
    try:
        async for chunk in chunks:
            first = chunk
            if chunk.strip():
                break
        kind = kind_of(content_type, first)
        if kind == "csv":
            rows: _Filter = _Csv(field, allowed)
        elif kind == "ndjson":
            rows = _Lines(field, allowed)
        else:
            rows = _JsonArray(field, allowed)
        head = rows.parts(first)
    except BaseException:  # refused before the response: let go of the source at once
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
        raise
    return _rest(head, rows, chunks)


async def _rest(
    head: list[bytes], rows: _Filter, chunks: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    try:
        for out in head:
            if out:
                yield out
        async for chunk in chunks:
            for out in rows.parts(chunk):
                if out:
                    yield out
        tail = rows.end()
        if tail:
            yield tail
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()


class _Filter:
    def feed(self, chunk: bytes) -> bytes:
        return b"".join(self.parts(chunk))

    def parts(self, chunk: bytes) -> list[bytes]:
        """What `chunk` lets out, in pieces sent as they are (joining them would copy)."""
        return [self.feed(chunk)]

    def end(self) -> bytes:
        raise NotImplementedError


def _at_newlines(pending: bytes, chunk: bytes) -> tuple[bytes, int, int, bytes] | None:
    """How a chunk of lines is read in place: the pending record completed by the chunk's
    first line (`joint`), where the chunk's own complete lines start (at its first newline)
    and end (after its last), and what is pending after it (from its last newline on).
    None when the chunk holds no newline."""
    last = chunk.rfind(b"\n")
    if last < 0:
        return None
    first = chunk.find(b"\n")
    return pending + chunk[: first + 1], first, last + 1, chunk[last:]


def _check_size(buffer: bytes | str) -> None:
    if len(buffer) > MAX_ROW:
        raise Unfilterable(f"a row of the personal dataset is longer than {MAX_ROW} bytes")


class _Csv(_Filter):
    """Blocks are read as "\n" + complete records + "\n" (the newline before the block is
    kept from the previous one: no copy to put it in front), and the kept records leave as
    "\n" + record ... with no newline after the last one: each block's output is one
    `re.sub` result, and the one newline owed at the end goes out with the last block."""

    def __init__(self, field: str, allowed: frozenset[str]) -> None:
        self.field = field
        self.allowed_text = allowed
        self.allowed: frozenset[bytes] = frozenset()
        self.index = -1
        self.encoding = "utf-8"
        self.pending = b""
        # Looked up once per access, not per block: finding the cached pattern compares the
        # whole subject set, which cost more than filtering a block.
        self.pattern: re.Pattern[bytes] | None = None

    def parts(self, chunk: bytes) -> list[bytes]:
        if self.index >= 0 and b'"' not in chunk and b'"' not in self.pending:
            # Without quotes a record ends at a newline: the record across the chunk's start
            # is completed on its own, and the chunk's other records are read in place,
            # without copying the chunk behind what was pending.
            split = _at_newlines(self.pending, chunk)
            if split is None:
                self.pending += chunk
                _check_size(self.pending)
                return []
            joint, first, cut, self.pending = split
            return [self._rows(joint, 0, len(joint)), self._rows(chunk, first, cut)]
        return [self._feed(chunk)]

    def _feed(self, chunk: bytes) -> bytes:
        data = self.pending + chunk
        out = b""
        if self.index < 0:
            end = data.find(b"\n")
            if end < 0:
                _check_size(data)
                self.pending = data
                return b""
            self._header(data[: end + 1])
            out, data = data[:end], data[end:]  # the header's newline starts the rows
        cut = self._complete(data)
        self.pending = data[cut - 1 :]
        _check_size(self.pending)
        rows = self._rows(data, 0, cut)
        return out + rows if out else rows

    def end(self) -> bytes:
        if self.index < 0:
            if self.pending.strip():
                self._header(self.pending)
                return self.pending
            raise Unfilterable("the personal dataset's CSV has no header row")
        rest, self.pending = self.pending[1:], b""
        if rest.strip():
            block = b"\n" + rest + b"\n"
            last = self._rows(block, 0, len(block))
            if last:
                return last  # the source's last record had no newline: neither has ours
        return b"\n"

    def _header(self, line: bytes) -> None:
        text = None
        for encoding in ("utf-8-sig", "cp932"):
            try:
                text = line.decode(encoding)
                self.encoding = "utf-8" if encoding == "utf-8-sig" else encoding
                break
            except UnicodeDecodeError:
                continue
        if text is None:
            raise Unfilterable("the personal dataset's CSV header is neither UTF-8 nor Shift_JIS")
        names = [n.strip() for n in next(csv.reader([text.strip("\r\n")]), [])]
        if self.field not in names:
            raise Unfilterable(
                f"the personal dataset's CSV has no column {self.field!r} (columns: {names})"
            )
        self.index = names.index(self.field)
        self.allowed = _encoded(self.allowed_text, self.encoding)
        if 0 < len(self.allowed) <= MAX_TRIE:
            # A "\n" NOT followed by `index` fields, a consenting subject and the end of its
            # field: that record goes, in C; the search skips to the next "\n" at memchr's pace.
            head = b"(?:[^,\n]*,)" * self.index
            self.pattern = _compiled(b"\n(?!" + head + b"KEYS[,\r\n])[^\n]*", self.allowed)

    @staticmethod
    def _complete(data: bytes) -> int:
        """Where the complete records end: after the last newline outside quotes (`data`
        starts with a newline)."""
        end = data.rfind(b"\n")
        if b'"' not in data:
            return end + 1
        inside = False
        last = 0
        start = 0
        while True:
            quote = data.find(b'"', start)
            newline = data.find(b"\n", start)
            if newline < 0:
                return last
            if quote < 0 or newline < quote:
                if not inside:
                    last = newline + 1
                start = newline + 1
            else:
                inside = not inside
                start = quote + 1

    def _rows(self, data: bytes, start: int, cut: int) -> bytes:
        """`data[start:cut]`: "\n" + records + "\n"; the kept ones as "\n" + record each."""
        if cut - start <= 1 or not self.allowed:
            return b""
        if data.find(b'"', start, cut) >= 0:
            records = self._quoted(data[start + 1 : cut])
            return b"\n" + records[:-1] if records else b""
        if self.pattern is not None:
            return self.pattern.sub(b"", memoryview(data)[start:cut])  # no copy of the block
        block = data[start:cut]
        lines = block.split(b"\n")[1:-1]
        index = self.index
        try:
            if index == 0:  # the usual place of an id: the line up to its first comma
                keys: Any = map(itemgetter(0), map(methodcaller("partition", b","), lines))
            else:
                keys = map(itemgetter(index), map(methodcaller("split", b",", index + 1), lines))
            if b"\r" in block:
                keys = map(methodcaller("rstrip", b"\r"), keys)
            kept = list(compress(lines, map(self.allowed.__contains__, keys)))
        except IndexError:  # a short or blank line somewhere: look at each one
            kept = [line for line in lines if self._key(line) in self.allowed]
        return b"\n".join([b"", *kept]) if kept else b""

    def _key(self, line: bytes) -> bytes | None:
        parts = line.rstrip(b"\r").split(b",", self.index + 1)
        return parts[self.index] if len(parts) > self.index else None

    def _quoted(self, block: bytes) -> bytes:
        """Records one by one, each read by the csv module (fields with quotes, commas or
        line breaks); the record's own bytes go out unchanged."""
        out = []
        start = 0
        while start < len(block):
            end = start + self._one_record(block[start:])
            record = block[start:end]
            start = end
            try:
                fields = next(csv.reader(io.StringIO(record.decode(self.encoding))), [])
            except (UnicodeDecodeError, csv.Error):
                continue
            if len(fields) > self.index and fields[self.index].encode(self.encoding) in (
                self.allowed
            ):
                out.append(record)
        return b"".join(out)

    @staticmethod
    def _one_record(data: bytes) -> int:
        inside = False
        for i, byte in enumerate(data):
            if byte == 0x22:
                inside = not inside
            elif byte == 0x0A and not inside:
                return i + 1
        return len(data)


class _Lines(_Filter):
    """NDJSON. Where every line of a block starts with the subject field as a plain string
    (`{"resident_id": "R1", ...`, the usual export) and names it once, the subjects are read
    in C like CSV keys; anything else (other key order, numbers, escapes) is decoded line by
    line."""

    def __init__(self, field: str, allowed: frozenset[str]) -> None:
        self.field = field
        self.allowed = allowed
        self.allowed_bytes = _encoded(allowed, "utf-8")
        self.key = json.dumps(field, ensure_ascii=False).encode()
        self.prefixes = tuple(
            b"{" + self.key + b":" + space + b'"' for space in (b"", b" ")
        )  # compact and json.dumps' default spelling
        self.patterns: dict[bytes, re.Pattern[bytes]] = {}  # per prefix, compiled once
        self.pending = b"\n"
        self.begun = False  # whether a line went out yet

    def parts(self, chunk: bytes) -> list[bytes]:
        # The pending line (with the newline before it) is completed on its own and the
        # chunk's other lines are read in place: no copy of the chunk behind it.
        split = _at_newlines(self.pending, chunk)
        if split is None:
            self.pending += chunk
            _check_size(self.pending)
            return []
        joint, first, cut, self.pending = split
        return [
            self._begin(self._lines(joint, 0, len(joint))),
            self._begin(self._lines(chunk, first, cut)),
        ]

    def end(self) -> bytes:
        rest, self.pending = self.pending[1:], b""
        if rest.strip():
            block = b"\n" + rest + b"\n"
            last = self._lines(block, 0, len(block))
            if last:
                return self._begin(last)  # no newline after the source's last line: none here
        return b"\n" if self.begun else b""

    def _begin(self, out: bytes) -> bytes:
        """Kept lines go out as "\n" + line each: the very first one without it."""
        if out and not self.begun:
            self.begun = True
            return out[1:]
        return out

    def _lines(self, data: bytes, start: int, cut: int) -> bytes:
        """`data[start:cut]`: "\n" + lines + "\n"; the kept ones as "\n" + line each."""
        if data.find(b"\\", start, cut) < 0 and data.find(b"\r", start, cut) < 0:
            for prefix in self.prefixes:
                if not data.startswith(prefix, start + 1):
                    continue
                # Every line that names the key names it once, at its beginning: a line can
                # only name it more often than it begins with it, so equal totals say so for
                # each line. A line without the key is released by neither path.
                if data.count(self.key, start, cut) != data.count(b"\n" + prefix, start, cut):
                    break
                if not self.allowed_bytes:
                    return b""
                if len(self.allowed_bytes) <= MAX_TRIE:
                    pattern = self.patterns.get(prefix)
                    if pattern is None:
                        # A "\n" NOT followed by the prefix, a consenting subject and its
                        # closing quote: that line goes (one re.sub, no copy of the block).
                        template = b"\n(?!" + re.escape(prefix) + b'KEYS")[^\n]*'
                        pattern = self.patterns[prefix] = _compiled(template, self.allowed_bytes)
                    return pattern.sub(b"", memoryview(data)[start:cut])
                lines = data[start:cut].split(b"\n")[1:-1]
                keys = map(
                    itemgetter(0),
                    map(
                        methodcaller("partition", b'"'),
                        map(itemgetter(slice(len(prefix), None)), lines),
                    ),
                )
                found = list(compress(lines, map(self.allowed_bytes.__contains__, keys)))
                return b"\n".join([b"", *found]) if found else b""
        return self._each(data[start:cut].split(b"\n")[1:-1])

    def _each(self, lines: list[bytes]) -> bytes:
        """Each line decoded; the kept ones as "\n" + line each."""
        kept = []
        loads, field, allowed = json.loads, self.field, self.allowed
        for line in lines:
            if not line.strip():
                continue
            try:
                row = loads(line)
            except ValueError:
                continue  # not a row anybody can read: not released
            if isinstance(row, dict) and _subject(row.get(field)) in allowed:
                kept.append(line)
        return b"\n".join([b"", *kept]) if kept else b""


class _JsonArray(_Filter):
    """`[` element (`,` element)* `]`, elements decoded one by one; kept ones re-joined in
    their original spelling."""

    def __init__(self, field: str, allowed: frozenset[str]) -> None:
        self.field = field
        self.allowed = allowed
        self.decoder = json.JSONDecoder()
        self.text = codecs.getincrementaldecoder("utf-8-sig")()
        self.buffer = ""
        self.state = "open"  # open -> items -> closed
        self.written = 0

    def feed(self, chunk: bytes) -> bytes:
        self.buffer += self.text.decode(chunk)
        return self._drain(final=False)

    def end(self) -> bytes:
        self.buffer += self.text.decode(b"", final=True)
        out = self._drain(final=True)
        if self.state != "closed":
            raise Unfilterable("the personal dataset's JSON array is cut off")
        return out

    def _drain(self, *, final: bool) -> bytes:
        parts: list[str] = []
        buffer, i = self.buffer, 0
        if self.state == "open":
            i = _skip(buffer, 0)
            if i >= len(buffer):
                self.buffer = ""
                return b""
            if buffer[i] != "[":
                raise Unfilterable("the personal dataset's JSON is not an array")
            parts.append("[")
            i += 1
            self.state = "items"
        while self.state == "items":
            i = _skip(buffer, i)
            if i < len(buffer) and buffer[i] == ",":
                i = _skip(buffer, i + 1)
            if i >= len(buffer):
                break
            if buffer[i] == "]":
                parts.append("]")
                self.state = "closed"
                i += 1
                break
            try:
                item, end = self.decoder.raw_decode(buffer, i)
            except ValueError:
                if final or len(buffer) - i > MAX_ROW:
                    raise Unfilterable(
                        "an element of the personal dataset's JSON cannot be read"
                    ) from None
                break  # the element goes on in the next chunk
            if isinstance(item, dict) and _subject(item.get(self.field)) in self.allowed:
                parts.append(("," if self.written else "") + buffer[i:end])
                self.written += 1
            i = end
        self.buffer = buffer[i:]
        return "".join(parts).encode()


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _subject(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value
