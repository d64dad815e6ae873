"""`tsunagu consent`: consent records for personal data, resident portals, and checking a
consent receipt offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from connector.cli.common import DIR, client_for, run
from connector.cli.output import emit, json_mode, print_json, say, summary, table


def _record(r: dict[str, Any]) -> None:
    fields: list[tuple[str, Any]] = [
        ("consent id", r["id"]),
        ("subject", r["subject"]),
        ("status", r["status"]),
        ("purposes", ", ".join(r["purposes"])),
        ("recipients", ", ".join(r["recipients"])),
        ("datasets", ", ".join(r["datasets"]) or "all"),
        ("valid", f"{r['valid_from']} until {r['valid_until'] or 'withdrawn'}"),
        ("legal basis", r["legal_basis"]),
    ]
    if r.get("receipt"):
        fields.append(("receipt id", r["receipt"]["id"]))
    if r.get("receipts"):
        fields.append(("receipts", len(r["receipts"])))
    summary(f"consent {r['status']}", fields)
    if r.get("receipt"):
        say("the signed receipt is in --json output (`tsunagu consent verify` checks it)")


def _records(rows: list[dict[str, Any]]) -> None:
    table(
        rows,
        [("id", "consent id"), ("subject", "subject"), ("status", "status"),
         ("valid_until", "valid until"), ("recipients", "recipients")],
        empty="no consent records",
    )  # fmt: skip


def _portal(p: dict[str, Any]) -> None:
    fields: list[tuple[str, Any]] = [("portal id", p["id"]), ("name", p["name"])]
    fields.append(("revoked", p["revoked"]))
    if "token" in p:
        fields.append(("token", p["token"]))
    summary(f"portal {p['name']}", fields)


def _portals(rows: list[dict[str, Any]]) -> None:
    table(
        rows,
        [("id", "portal id"), ("name", "name"), ("created_at", "added"), ("revoked", "revoked")],
        empty="no portals: add one with `tsunagu consent portal add`",
    )


@click.group("consent")
def consent_group() -> None:
    """Consent of data subjects for personal data (needs `tsunagu serve` running, except
    `verify`)."""


@consent_group.command("give")
@click.argument("directory", type=DIR)
@click.option("--subject", required=True, help="The data subject's (pseudonymous) id.")
@click.option("--purpose", "purposes", multiple=True, required=True, help="Purpose IRI.")
@click.option(
    "--recipient",
    "recipients",
    multiple=True,
    required=True,
    help="A participant DID, or a role (`role:municipality`).",
)
@click.option("--dataset", "datasets", multiple=True, help="Only for these datasets.")
@click.option("--from", "valid_from", help="Valid from (ISO 8601 with time zone; default now).")
@click.option("--until", "valid_until", help="Valid until, exclusive (ISO 8601).")
@click.option("--legal-basis", help="DPV consent type (default InformedConsent).")
@click.option("--notice", help="IRI of the notice the subject was shown.")
def consent_give(
    directory: Path,
    subject: str,
    purposes: tuple[str, ...],
    recipients: tuple[str, ...],
    datasets: tuple[str, ...],
    valid_from: str | None,
    valid_until: str | None,
    legal_basis: str | None,
    notice: str | None,
) -> None:
    """Record a consent the subject gave; prints it with its signed receipt."""
    from connector.api.consent_client import ConsentClient, consent_body

    body = consent_body(
        subject,
        purposes=purposes,
        recipients=recipients,
        datasets=datasets,
        valid_from=valid_from,
        valid_until=valid_until,
        legal_basis=legal_basis,
        notice=notice,
    )

    async def go() -> Any:
        async with client_for(directory) as client:
            return await ConsentClient(client).give(body)

    emit(run(go), _record)


@consent_group.command("withdraw")
@click.argument("directory", type=DIR)
@click.argument("record_id")
def consent_withdraw(directory: Path, record_id: str) -> None:
    """Withdraw a consent: none of the subject's rows leave under it from the next access."""
    from connector.api.consent_client import ConsentClient

    async def go() -> Any:
        async with client_for(directory) as client:
            return await ConsentClient(client).withdraw(record_id)

    emit(run(go), _record)


@consent_group.command("list")
@click.argument("directory", type=DIR)
@click.option("--subject", help="Only this subject's records.")
@click.option("--status", type=click.Choice(["given", "withdrawn", "expired"]))
def consent_list(directory: Path, subject: str | None, status: str | None) -> None:
    """List consent records (newest first)."""
    from connector.api.consent_client import ConsentClient

    async def go() -> Any:
        async with client_for(directory) as client:
            return await ConsentClient(client).records(subject=subject, status=status)

    emit(run(go), _records)


@consent_group.command("show")
@click.argument("directory", type=DIR)
@click.argument("record_id")
@click.option("--jsonld", is_flag=True, help="Print the record as DPV JSON-LD only.")
def consent_show(directory: Path, record_id: str, jsonld: bool) -> None:
    """One record: status history, DPV JSON-LD and its receipts."""
    from connector.api.consent_client import ConsentClient

    async def go() -> Any:
        async with client_for(directory) as client:
            return await ConsentClient(client).show(record_id)

    shown = run(go)
    if jsonld:  # JSON-LD is the point of --jsonld, with or without --json
        print_json(shown["jsonld"])
    else:
        emit(shown, _record)


@consent_group.group("portal")
def portal_group() -> None:
    """Resident portals allowed to give, withdraw and show consent for a subject."""


@portal_group.command("add")
@click.argument("directory", type=DIR)
@click.argument("name")
def portal_add(directory: Path, name: str) -> None:
    """A portal and its token (printed once: give it to the portal)."""
    from connector.api.consent_client import ConsentClient

    async def go() -> Any:
        async with client_for(directory) as client:
            return await ConsentClient(client).add_portal(name)

    added = run(go)
    # The token exists only in this answer (the connector keeps its hash), so it is printed
    # even without --show-token: hidden, it would be lost.
    if json_mode():
        print_json(added)
    else:
        _portal(added)
        say("give the token to the portal now: it is not shown again")


@portal_group.command("list")
@click.argument("directory", type=DIR)
def portal_list(directory: Path) -> None:
    from connector.api.consent_client import ConsentClient

    async def go() -> Any:
        async with client_for(directory) as client:
            return await ConsentClient(client).portals()

    emit(run(go), _portals)


@portal_group.command("revoke")
@click.argument("directory", type=DIR)
@click.argument("portal_id")
def portal_revoke(directory: Path, portal_id: str) -> None:
    from connector.api.consent_client import ConsentClient

    async def go() -> Any:
        async with client_for(directory) as client:
            return await ConsentClient(client).revoke_portal(portal_id)

    emit(run(go), _portal)


@consent_group.command("verify")
@click.argument("receipt", type=click.File("r"))
@click.option(
    "--did-document",
    type=click.File("r"),
    required=True,
    help="The controller's DID document (its /.well-known/did.json), saved as a file.",
)
def consent_verify(receipt: Any, did_document: Any) -> None:
    """Check a consent receipt offline against the controller's DID document; prints the
    receipt when its signature holds, fails (exit 1) otherwise."""
    from connector.errors import ConnectorError
    from connector.identity.errors import IdentityError
    from connector.identity.receipts import keys_of, verify_receipt

    try:
        document = json.load(did_document)
        text = receipt.read().strip()
        if text.startswith("{"):  # the API's answer, saved whole
            text = json.loads(text)["receipt"]["receipt"]
        claims = verify_receipt(text, keys_of(document))
    except (IdentityError, ConnectorError) as exc:
        raise click.ClickException(f"receipt NOT valid: {exc} [{exc.code}]") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(f"cannot read the files: {exc}") from None
    click.echo(f"receipt valid: signed by {claims['iss']}", err=True)
    emit(claims["receipt"], _receipt)


def _receipt(r: dict[str, Any]) -> None:
    status = r.get("dpv:hasConsentStatus")
    summary(
        "consent receipt",
        [
            ("record", r.get("@id") or r.get("dct:identifier")),
            ("status", status.get("@id") if isinstance(status, dict) else status),
        ],
    )
