"""Human views of the management API's records: what an operator reads first (the ids to copy
into the next command, the state), then the details. `--json` prints the records instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connector.cli.output import LABELS, say, summary, table


def _offers(offers: list[dict[str, Any]]) -> str:
    return ", ".join(o["id"] + _offer_notes(o) for o in offers)


def _offer_notes(offer: dict[str, Any]) -> str:
    notes = ["needs approval"] if offer.get("requires_approval") else []
    notes += [f"{step}={choice}" for step, choice in sorted((offer.get("steps") or {}).items())]
    return f" ({', '.join(notes)})" if notes else ""


# How the operator answers each waiting step: the command that takes it, and the others.
ANSWERS = {
    "AGREEMENT": ("approve", "or counter --policy FILE, terminate"),
    "ACCEPTED": ("accept", "or counter --policy FILE, terminate"),
    "VERIFICATION": ("verify", "or terminate"),
    "FINALIZED": ("finalize", "or terminate"),
    "START": ("approve", "or terminate"),
    "peer_not_found": ("approve", "to send it again, or terminate"),
}


def waiting_text(record: dict[str, Any], *, lead: str = "waiting ") -> str:
    """`waiting since <when> for <what>` and why, or ''."""
    waiting = record.get("waiting")
    if not waiting:
        return ""
    detail = waiting.get("detail") or {}
    why = detail.get("reason") or detail.get("error")
    text = f"{lead}since {waiting['since']} for {waiting['description']}"
    if detail.get("window_opens"):
        text += f" (starts by itself at {detail['window_opens']})"
    return text + (f": {why}" if why else "")


def _waiting_fields(record: dict[str, Any], directory: Path | None) -> list[tuple[str, Any]]:
    waiting = record.get("waiting")
    if not waiting:
        if record.get("awaiting_decision"):  # parked before holds were recorded with a reason
            return [("waiting", "for your decision: approve, counter --policy FILE or terminate")]
        return []
    fields: list[tuple[str, Any]] = [("waiting", waiting_text(record, lead=""))]
    if waiting["for"] in ANSWERS:
        action, others = ANSWERS[waiting["for"]]
        group = "transfer" if "format" in record else "negotiations"
        where = directory or "DIR"
        fields.append(("next", f"tsunagu {group} {action} {where} {record['id']}  ({others})"))
    return fields


# Where a delivered process waits for the peer's next message (our role, kind) -> states.
_PEER_TURN = {
    ("consumer", "negotiation"): ("REQUESTED", "ACCEPTED", "VERIFIED"),
    ("provider", "negotiation"): ("OFFERED", "AGREED"),
    ("consumer", "transfer"): ("REQUESTED",),
}


def peer_turn(record: dict[str, Any]) -> str | None:
    """What a process waits for when its next step is the peer's, or None (ours to take, in
    flight, or over). The peer's hold cannot be seen from here: DSP has no message for it."""
    if record.get("waiting") or record.get("pending") or record.get("awaiting_decision"):
        return None
    kind = "transfer" if "format" in record else "negotiation"
    if record["state"] not in _PEER_TURN.get((record["role"], kind), ()):
        return None
    peer = "consumer" if record["role"] == "provider" else "provider"
    return f"the {peer}'s next message (its operator may hold this step)"


def history(record: dict[str, Any]) -> None:
    """A process's events, oldest first: what was sent, received, held and decided."""
    events = record.get("events") or []
    if not events:
        return
    say("history")
    for e in events:
        detail = e.get("detail") or {}
        if e["message"] == "HOLD":
            what = f"waits for {detail.get('waiting_for')}"
        elif e["message"] == "OPERATOR":
            what = f"{detail.get('action')} (it waited for {detail.get('waited_for')})"
        elif e.get("from") != e.get("to"):
            what = f"{e.get('from') or '-'} -> {e.get('to')}"
        else:
            what = ""
        reason = detail.get("reason") if e["message"] == "TERMINATION" else None
        if reason:
            what += ": " + ("; ".join(reason) if isinstance(reason, list) else str(reason))
        say(f"  {e['at']}  {e['direction']:<8} {e['message']:<16} {what}".rstrip())


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


def negotiation(
    n: dict[str, Any], *, title: str | None = None, directory: Path | None = None
) -> None:
    """`directory`: the participant directory as the operator gave it (for the next command)."""
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
    fields += _waiting_fields(n, directory)
    if peer_turn(n):
        fields.append(("awaiting", peer_turn(n)))
    if n.get("last_error"):
        fields.append(("last error", n["last_error"]))
    summary(title or f"negotiation {n['state']}", fields)
    if n.get("agreement_id") and n["role"] == "consumer" and n["state"] == "FINALIZED":
        say(f"next: tsunagu transfer start {directory or 'DIR'} {n['agreement_id']}")


def negotiations(rows: list[dict[str, Any]], *, empty: str = "no negotiations yet") -> None:
    """A table, process ids first, with what each waits for (blank if nothing)."""
    table(
        [{**n, "waiting": _waits(n)} for n in rows],
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


def _waits(record: dict[str, Any]) -> str:
    """A table row's "waiting" cell: for our operator (since when, why), else for the peer."""
    shown = waiting_text(record, lead="")
    if not shown and record.get("awaiting_decision"):
        return "for your decision"
    turn = peer_turn(record)
    return shown or (f"for {turn}" if turn else "")


def _endpoint(address: dict[str, Any] | None) -> tuple[Any, Any]:
    if not address:
        return None, None
    token = None
    for prop in address.get("endpointProperties") or []:
        if isinstance(prop, dict) and prop.get("name") == "authorization":
            token = prop.get("value")
    return address.get("endpoint"), token


def transfer(t: dict[str, Any], *, title: str | None = None, directory: Path | None = None) -> None:
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
    fields += _waiting_fields(t, directory)
    if peer_turn(t):
        fields.append(("awaiting", peer_turn(t)))
    if t.get("last_error"):
        fields.append(("last error", t["last_error"]))
    summary(title or f"transfer {t['state']}", fields)
    if t["role"] == "consumer" and t["state"] == "STARTED" and t["format"].endswith("PULL"):
        say(f"next: tsunagu fetch {directory or 'DIR'} {t['id']} -o FILE")


def transfers(rows: list[dict[str, Any]], *, empty: str = "no transfers yet") -> None:
    """A table, process ids first, with what each waits for (blank if nothing)."""
    table(
        [{**t, "waiting": _waits(t)} for t in rows],
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
