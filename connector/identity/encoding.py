"""Strict base64url (RFC 4648 §5, no padding) and the timestamp forms credentials use."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime

__all__ = ["b64url_decode", "b64url_encode", "from_iso", "numeric_date", "to_iso"]

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; anything non-canonical raises ValueError.

    Canonical means re-encoding gives the same text, so one value has exactly one spelling
    (trailing bits that the decoder would silently drop are refused).
    """
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError(f"not base64url: {exc}") from exc
    if b64url_encode(data) != text:
        raise ValueError("non-canonical base64url")
    return data


def to_iso(moment: datetime) -> str:
    """XML Schema dateTime in UTC with a `Z`, whole seconds (what VC 2.0 examples use)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str) -> datetime:
    """Parse a dateTimeStamp; a value without a time zone is refused (it would be ambiguous)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment.astimezone(UTC)


def numeric_date(moment: datetime) -> int:
    """RFC 7519 NumericDate, truncated to whole seconds."""
    return int(moment.timestamp())
