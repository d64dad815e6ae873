"""Human views of the management API's records: what an operator reads first (the ids to copy
into the next command, the state), then the details. `--json` prints the records instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connector.cli.output import LABELS, say, summary, table


def _offers(offers: list[dict[str, Any]]) -> str:
    return ", ".join(
        o["id"] + (" (needs approval)" if o.get("requires_approval") else "") for o in offers
    )


def dataset(d: dict[str, Any], *, title: str | None = None) -> None:
    fields: list[tuple[str, Any]] = [
        (LABELS["dataset_id"], d["id"]),
        ("title", d["title"]),
        ("state", d.get("state", "published")),
        ("offers", _offers(d.get("offers", [])) or "none (peers cannot negotiate for it)"),
    ]
    if d.get("description"):
        fields.append(("description", d["description"]))
    if d.get("keywords"):
        fields.append(("keywords", ", ".join(d["keywords"])))
    if d.get("themes"):
        fields.append(("themes", ", ".join(d["themes"])))
    fields.append(("data address", d.get("data_address") or "none (transfers will fail)"))
    summary(title or f"dataset {d['id']}", fields)


def datasets(rows: list[dict[str, Any]]) -> None:
    table(
        [
            {**d, "state": d.get("state", "published"), "offers": _offers(d.get("offers", []))}
            for d in rows
        ],
        [("id", "dataset id"), ("state", "state"), ("title", "title"), ("offers", "offers")],
        empty="no datasets yet: publish one with `tsunagu dataset add`",
    )


def catalog(cat: dict[str, Any]) -> None:
    entries = cat.get("dataset") or []
    if isinstance(entries, dict):
        entries = [entries]
    rows = []
    for d in entries:
        offers = d.get("hasPolicy") or []
        if isinstance(offers, dict):
            offers = [offers]
        rows.append(
            {
                "id": d.get("@id"),
                "title": _literal(d.get("title", d.get("dct:title"))),  # DSP compacts dct:
                "offers": ", ".join(str(o.get("@id")) for o in offers),
            }
        )
    say(f"catalogue of {cat.get('participantId', 'the provider')}: {len(rows)} dataset(s)")
    table(
        rows,
        [("id", "dataset id"), ("title", "title"), ("offers", "offer ids")],
        empty="the provider shows this participant no datasets",
    )


def _literal(value: Any) -> Any:
    """A DCAT title may be a plain string, a language-tagged value or a list of them."""
    if isinstance(value, list):
        return " / ".join(str(_literal(v)) for v in value)
    if isinstance(value, dict):
        return value.get("@value", value)
    return value


def negotiation(n: dict[str, Any], *, title: str | None = None) -> None:
    fields: list[tuple[str, Any]] = []
    if n.get("agreement_id"):
        fields.append((LABELS["agreement_id"], n["agreement_id"]))
    fields += [
        (LABELS["id"], n["id"]),
        ("state", n["state"] + (" (sending…)" if n.get("pending") else "")),
        ("role", n["role"]),
        (LABELS["dataset_id"], n["dataset_id"]),
        ("counterparty", n["counterparty"]),
    ]
    if n.get("awaiting_decision"):
        fields.append(("awaiting", "your decision: `tsunagu negotiations approve|terminate`"))
    if n.get("last_error"):
        fields.append(("last error", n["last_error"]))
    summary(title or f"negotiation {n['state']}", fields)
    if n.get("agreement_id") and n["role"] == "consumer" and n["state"] == "FINALIZED":
        say(f"next: tsunagu transfer start DIR {n['agreement_id']}")


def negotiations(
    rows: list[dict[str, Any]],
    *,
    waiting: Callable[[dict[str, Any]], str] = lambda _: "",
    empty: str = "no negotiations yet",
) -> None:
    """A table, process ids first; `waiting` says what a row waits for (blank if nothing)."""
    table(
        [{**n, "waiting": _waiting(n, waiting)} for n in rows],
        [
            ("id", LABELS["id"]),
            ("role", "role"),
            ("state", "state"),
            ("dataset_id", LABELS["dataset_id"]),
            ("counterparty", "counterparty"),
            ("agreement_id", LABELS["agreement_id"]),
            ("waiting", "waiting"),
        ],
        empty=empty,
    )


def _waiting(record: dict[str, Any], text: Callable[[dict[str, Any]], str]) -> str:
    shown = text(record).removeprefix("waiting ")
    if not shown and record.get("awaiting_decision"):
        return "for your decision"
    return shown


def _endpoint(address: dict[str, Any] | None) -> tuple[Any, Any]:
    if not address:
        return None, None
    token = None
    for prop in address.get("endpointProperties") or []:
        if isinstance(prop, dict) and prop.get("name") == "authorization":
            token = prop.get("value")
    return address.get("endpoint"), token


def transfer(t: dict[str, Any], *, title: str | None = None) -> None:
    endpoint, token = _endpoint(t.get("data_address"))
    fields: list[tuple[str, Any]] = [
        (LABELS["id"], t["id"]),
        ("state", t["state"] + (" (sending…)" if t.get("pending") else "")),
        ("role", t["role"]),
        (LABELS["agreement_id"], t["agreement_id"]),
        ("format", t["format"]),
        ("counterparty", t["counterparty"]),
    ]
    if endpoint:
        fields.append(("endpoint", endpoint))
    if token:
        fields.append(("token", token))
    if t.get("last_error"):
        fields.append(("last error", t["last_error"]))
    summary(title or f"transfer {t['state']}", fields)
    if t["role"] == "consumer" and t["state"] == "STARTED" and t["format"].endswith("PULL"):
        say(f"next: tsunagu fetch DIR {t['id']} -o FILE")


def transfers(
    rows: list[dict[str, Any]],
    *,
    waiting: Callable[[dict[str, Any]], str] = lambda _: "",
    empty: str = "no transfers yet",
) -> None:
    """A table, process ids first; `waiting` as for `negotiations`."""
    table(
        [{**t, "waiting": _waiting(t, waiting)} for t in rows],
        [
            ("id", LABELS["id"]),
            ("role", "role"),
            ("state", "state"),
            ("format", "format"),
            ("agreement_id", LABELS["agreement_id"]),
            ("counterparty", "counterparty"),
            ("waiting", "waiting"),
        ],
        empty=empty,
    )
