"""`canonical_json` writes common values with json's C encoder: byte for byte what rfc8785
writes, for any JSON value, and the same refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.audit.entries import Entry, _common_ground, canonical_json, format_time
from connector.audit.errors import EntryError

_text = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["\x00", "\x1f\x7f", '"\\/', "\ue000", "\U0001f600", "é", "\u2028", "\b\f\n\r\t"]
)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_the_same_bytes_as_rfc8785_for_any_json_value(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


def test_keys_beyond_ascii_are_ordered_by_utf16_code_units() -> None:
    value = {"\U0001f600": 1, "\ue000": 2, "a": 3}  # code point order would swap the first two
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json(value).index("\U0001f600".encode()) < canonical_json(value).index(
        "\ue000".encode()
    )


@pytest.mark.parametrize(
    "value",
    [2**53, -(2**53), {"x": [2**60]}, float("nan"), {1: "a"}, "\ud800", {"k": "a\udfffb"}],
)
def test_what_json_cannot_carry_exactly_is_refused(value: Any) -> None:
    with pytest.raises(EntryError):
        canonical_json(value)


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 4, 1, 9, 0, tzinfo=UTC),
        datetime(2026, 4, 1, 9, 0, 0, 1, tzinfo=timezone(timedelta(hours=9))),
        datetime(2026, 12, 31, 23, 59, 59, 999999),
        datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    ],
)
def test_time_has_one_fixed_width_spelling(at: datetime) -> None:
    if at.tzinfo is None:
        at_utc = at.replace(tzinfo=UTC)
    else:
        at_utc = at.astimezone(UTC)
    assert format_time(at) == at_utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
_details = st.dictionaries(_text, _values, max_size=5) | st.fixed_dictionaries(
    {"event": st.integers(0, 2**53 - 1), "detail": st.dictionaries(_text, _values, max_size=3)}
)


@settings(max_examples=400, deadline=None)
@given(
    seq=st.integers(-(2**60), 2**60),
    at=st.datetimes(
        datetime(2, 1, 1), timezones=st.just(UTC) | st.just(timezone(timedelta(hours=9)))
    ),
    kind=_text,
    subject=_text,
    peer=_text,
    details=_details,
)
def test_an_entry_is_written_as_rfc8785_writes_it(
    seq: int, at: datetime, kind: str, subject: str, peer: str, details: dict[str, Any]
) -> None:
    entry = Entry(seq, at, kind, subject, peer, details)
    try:
        expected = rfc8785.dumps(entry.to_json())
    except (rfc8785.CanonicalizationError, ValueError):
        with pytest.raises(EntryError):
            entry.canonical()
        return
    assert entry.canonical() == expected


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "a\ud800"},  # lone surrogate in a top-level string
        {"subject": "x", "details": {"n": float("nan")}},
        {"seq": 2**53},
    ],
)
def test_an_entry_json_cannot_carry_is_refused(fields: dict[str, Any]) -> None:
    values: dict[str, Any] = {"seq": 1, "kind": "k", "subject": "s", "details": {}} | fields
    entry = Entry(values["seq"], T0, values["kind"], values["subject"], "", values["details"])
    with pytest.raises(EntryError):
        entry.canonical()


class _Step(StrEnum):
    AGREEMENT = "AGREEMENT"
    ODD = 'a\u2028\x00"é'


@pytest.mark.parametrize("member", list(_Step))
def test_str_enum_values_are_written_as_their_characters_like_rfc8785(member: _Step) -> None:
    """Roles and messages are StrEnums in the events' details: written by the fast path, the
    same bytes as rfc8785 (which writes a str subclass's characters, not its name)."""
    value = {"waiting_for": member, "steps": [member], "to": "X"}
    assert _common_ground(value)
    assert (
        canonical_json(value)
        == rfc8785.dumps(value)
        == rfc8785.dumps({"waiting_for": str(member.value), "steps": [member.value], "to": "X"})
    )
    entry = Entry(3, T0, "negotiation.transition", "urn:p", "did:x", {"detail": value})
    assert entry.canonical() == rfc8785.dumps(entry.to_json())
