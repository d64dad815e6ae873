"""Plain-text tables that line up with Japanese text (wide characters take two columns), for
the CLI and the demo."""

from __future__ import annotations

import unicodedata


def width(text: str) -> int:
    """Columns a terminal gives `text` (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def clip(text: str, columns: int) -> str:
    out, used = "", 0
    for c in text:
        w = width(c)
        if used + w > columns - (1 if len(out) < len(text) - 1 else 0):
            return out + "…"
        out, used = out + c, used + w
    return out


def pad(text: str, columns: int) -> str:
    text = clip(text, columns) if width(text) > columns else text
    return text + " " * (columns - width(text))


def table(rows: list[list[str]], headers: list[str], limits: list[int]) -> str:
    sizes = [
        min(limit, max([width(h)] + [width(r[i]) for r in rows]))
        for i, (h, limit) in enumerate(zip(headers, limits, strict=True))
    ]
    lines = ["  ".join(pad(h, s) for h, s in zip(headers, sizes, strict=True)).rstrip()]
    lines.append("  ".join("-" * s for s in sizes))
    for row in rows:
        lines.append("  ".join(pad(c, s) for c, s in zip(row, sizes, strict=True)).rstrip())
    return "\n".join(lines)
