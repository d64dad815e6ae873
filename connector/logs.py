"""Logs: plain text for a terminal, or one JSON object a line (`tsunagu serve --log-format
json`), each carrying the correlation id of the request it belongs to.

A correlation id comes in on `X-Correlation-ID` (or is made up), is echoed on the response,
and goes out on every DSP message the connector sends while handling it, including the sends
the runner makes for it later (a context variable: tasks and worker threads inherit it), so
the same id shows in the logs of both connectors."""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

HEADER = "X-Correlation-ID"
_VALID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")

correlation_id: ContextVar[str | None] = ContextVar("tsunagu_correlation_id", default=None)

# LogRecord attributes that are not "extra" fields
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's terminal copy of the message
}


def accept(value: str | None) -> str:
    """The caller's id when it is a sane token, else a fresh one (a header is a peer's word)."""
    if value and _VALID.match(value):
        return value
    return uuid.uuid4().hex


def outgoing_headers() -> dict[str, str]:
    value = correlation_id.get()
    return {HEADER: value} if value else {}


class CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "correlation_id"):
            record.correlation_id = correlation_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and value is not None:
                entry[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: int, *, json_format: bool) -> None:
    """The process's root handler (the CLI calls this once)."""
    handler = logging.StreamHandler()
    handler.addFilter(CorrelationFilter())
    if json_format:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Schema migrations narrate every step at INFO ("Context impl ...", "Running upgrade ...");
    # at the default level an operator wants the connector's own lines, not alembic's.
    # (with --log-level debug they come through, for whoever debugs a migration).
    quieter = level if level <= logging.DEBUG else max(level, logging.WARNING)
    logging.getLogger("alembic").setLevel(quieter)
