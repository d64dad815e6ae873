"""Entries and their canonical bytes (RFC 8785)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from connector.audit.entries import Entry, canonical_json
from connector.audit.errors import EntryError

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def test_rfc8785_section_3_2_2_example() -> None:
    value = json.loads(
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    assert (
        canonical_json(value)
        == (
            '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
            '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
        ).encode()
    )


def test_rfc8785_keys_sort_by_utf16_code_units() -> None:
    keys = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    out = json.loads(canonical_json({k: k for k in keys}))
    assert list(out) == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_what_json_cannot_carry_exactly_is_refused() -> None:
    for bad in (float("nan"), 2**60, {1: "x"}):
        with pytest.raises(EntryError) as caught:
            canonical_json(bad)
        assert caught.value.code == "entry_not_canonical"


def entry(**changes: object) -> Entry:
    fields: dict[str, object] = {
        "seq": 3,
        "time": T0,
        "kind": "negotiation.transition",
        "subject": "urn:uuid:1",
        "peer": "did:web:b",
        "details": {"to": "AGREED", "n": 1.5, "水位": "高"},
    }
    fields.update(changes)
    return Entry(**fields)  # type: ignore[arg-type]


def test_entry_round_trips_through_its_json() -> None:
    e = entry()
    body = e.canonical()
    assert Entry.from_bytes(body) == e
    assert canonical_json(json.loads(body)) == body  # re-canonicalising is the identity
    assert body.startswith(b'{"details":') and "水位".encode() in body


def test_one_instant_has_one_spelling() -> None:
    tokyo = T0.astimezone(timezone(timedelta(hours=9)))
    assert entry(time=tokyo).canonical() == entry().canonical()
    assert entry(time=T0.replace(tzinfo=None)).canonical() == entry().canonical()


def test_every_field_is_in_the_leaf() -> None:
    base = entry().leaf_hash()
    for change in (
        {"seq": 4},
        {"time": T0 + timedelta(microseconds=1)},
        {"kind": "transfer.transition"},
        {"subject": "urn:uuid:2"},
        {"peer": "did:web:c"},
        {"details": {"to": "AGREED", "n": 1.5, "水位": "低"}},
    ):
        assert entry(**change).leaf_hash() != base, change


@pytest.mark.parametrize(
    "bad",
    [
        b"not json",
        b"[]",
        b'{"v":1}',
        b'{"v":2,"seq":0,"time":"2026-04-01T09:00:00.000000Z","kind":"k","subject":"s","peer":"","details":{}}',
        b'{"v":1,"seq":-1,"time":"2026-04-01T09:00:00.000000Z","kind":"k","subject":"s","peer":"","details":{}}',
        b'{"v":1,"seq":0,"time":"2026-04-01T09:00:00Z","kind":"k","subject":"s","peer":"","details":{}}',
        b'{"v":1,"seq":0,"time":"2026-04-01T09:00:00.000000Z","kind":1,"subject":"s","peer":"","details":{}}',
        b'{"v":1,"seq":0,"time":"2026-04-01T09:00:00.000000Z","kind":"k","subject":"s","peer":"","details":[]}',
        b'{"v":1,"seq":0,"time":"2026-04-01T09:00:00.000000Z","kind":"k","subject":"s","peer":"","details":{},"x":1}',
    ],
)
def test_malformed_entries_are_refused(bad: bytes) -> None:
    with pytest.raises(EntryError):
        Entry.from_bytes(bad)
