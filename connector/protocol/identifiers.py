"""What a store can hold, checked at the door (issue 15, defects 3, 6, 7).

PostgreSQL refuses NUL in text and JSON, neither SQLite nor PostgreSQL can encode a lone
surrogate (JSON's `"\\ud800"` decodes to one), and an identifier a peer makes up is stored, indexed
and echoed back: so every string a request carries is checked when it is parsed, not when a
database (or the error handler echoing it) trips over it.

    invalid_characters   NUL or a lone surrogate anywhere; a control character in an identifier
    identifier_too_long  an identifier or address over its length limit
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from connector.errors import MessageError

MAX_IDENTIFIER = 256
"""Pids, agreement ids, codes (UUID URNs are 45 characters): the width of the stores' pid
columns."""
MAX_NAME = 512
"""Dataset and offer ids, DIDs: the width of the stores' columns for them."""
MAX_ADDRESS = 2048
"""URLs: callback addresses, endpoints, DSP bases (what browsers and proxies commonly take)."""

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# C0 controls, DEL and C1 controls: never part of an identifier or a URL a peer may reach.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def unstorable(value: str) -> bool:
    return _UNSTORABLE.search(value) is not None


def has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


def check_identifier(value: str, where: str, *, limit: int = MAX_IDENTIFIER) -> str:
    """`value` if it may be an identifier or address; `MessageError` naming `where` if not."""
    if len(value) > limit:
        raise MessageError(
            f"{where} is {len(value)} characters long; at most {limit} are accepted",
            code="identifier_too_long",
        )
    if has_control(value):
        raise MessageError(
            f"{where} contains a control character, NUL or lone surrogate",
            code="invalid_characters",
        )
    return value


def check_storable(data: Any, where: str = "the body") -> None:
    """Every string and key in a decoded JSON document can be stored: `MessageError` naming the
    first that cannot. Iterative, like the depth check, so a deep document costs no stack."""
    for path, text in _strings(data):
        if unstorable(text):
            raise MessageError(
                f"{where}: {path or 'the document'} contains NUL or a lone surrogate, which "
                "cannot be stored",
                code="invalid_characters",
            )


def _strings(data: Any) -> Iterator[tuple[str, str]]:
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            yield path, node
        elif isinstance(node, dict):
            for key, value in node.items():
                key_text = str(key)
                safe = _UNSTORABLE.sub("?", key_text)[:64]
                yield f"{path}.{safe}" if path else safe, key_text
                stack.append((f"{path}.{safe}" if path else safe, value))
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(node))
