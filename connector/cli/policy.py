"""`tsunagu policy`: check a policy, explain a decision, make one from a template, list the
duties owed under an agreement."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from connector.cli.common import DIR, client_for, run
from connector.cli.output import emit, json_mode, print_json, summary, table
from policies.errors import PolicyError

FILE = click.Path(dir_okay=False, exists=True, path_type=Path)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="FILE") from None
    if not isinstance(data, dict):
        raise click.BadParameter("the policy must be a JSON object", param_hint="FILE")
    return data


def _instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO 8601 instant", param_hint="--at"
        ) from None
    if moment.utcoffset() is None:
        raise click.BadParameter("give the instant with a time zone (+09:00, Z)", param_hint="--at")
    return moment


@click.group("policy")
def policy_group() -> None:
    """Check, explain and write ODRL policies in tsunagu's profile (docs/policy-profile.md)."""


@policy_group.command("check")
@click.argument("file", type=FILE)
def check(file: Path) -> None:
    """Validate FILE against the profile and list the terms it uses (exit 1 when invalid)."""
    from connector.policy.whatif import check_report

    try:
        report = check_report(_read(file))
    except PolicyError as exc:
        if json_mode():
            print_json({"valid": False, "code": exc.code, "message": str(exc)})
        click.echo(f"invalid: {exc} [{exc.code}]", err=True)
        sys.exit(1)
    emit(report, _check_view)


def _check_view(r: dict[str, Any]) -> None:
    terms = r["terms"]
    summary(
        f"valid {r['kind']} {r['uid']}",
        [
            ("permissions", r["permissions"]),
            ("prohibitions", ", ".join(r["prohibitions"]) or "none"),
            ("obligations", ", ".join(r["obligations"]) or "none"),
            *((kind, ", ".join(used) or "none") for kind, used in terms.items()),
        ],
    )


@policy_group.command("explain")
@click.argument("file", type=FILE)
@click.option("--as", "did", required=True, help="The requester's DID.")
@click.option("--purpose", help="The stated purpose (IRI or purpose:NAME).")
@click.option("--at", "at", help="The decision instant, ISO 8601 with a time zone (default: now).")
@click.option("--lang", type=click.Choice(["ja", "en"]), default="en", show_default=True)
@click.option("--role", help="Credential claim: role.")
@click.option("--municipality-code", help="Credential claim: municipality code.")
@click.option("--membership", "memberships", multiple=True, help="Credential claim (repeatable).")
@click.option("--uses", type=click.IntRange(min=0), help="Accesses made so far (for count).")
@click.option(
    "--participant",
    type=DIR,
    help="Ask this participant's running connector (its basins and live flood alerts) "
    "instead of deciding here without them.",
)
def explain(
    file: Path,
    did: str,
    purpose: str | None,
    at: str | None,
    lang: str,
    role: str | None,
    municipality_code: str | None,
    memberships: tuple[str, ...],
    uses: int | None,
    participant: Path | None,
) -> None:
    """Decide FILE for a requester and explain why (exit 1 when denied)."""
    data = _read(file)
    moment = _instant(at)
    if participant is not None:
        body: dict[str, Any] = {
            "policy": data,
            "as": did,
            "purpose": purpose,
            "role": role,
            "municipality_code": municipality_code,
            "memberships": list(memberships),
            "uses": uses,
            "lang": lang,
        }
        if moment is not None:
            body["at"] = moment.isoformat()

        async def ask() -> Any:
            async with client_for(participant) as client:
                return await client.call("POST", "/policies/explain", json=body)

        result = run(ask)
    else:
        from connector.policy.whatif import WhatIf, decision_json, what_if
        from policies.decision import DecisionPoint
        from policies.profile import check_policy

        question = WhatIf(
            did=did,
            purpose=purpose,
            at=moment,
            role=role,
            municipality_code=municipality_code,
            memberships=memberships,
            uses=uses,
        )
        try:
            decision = what_if(DecisionPoint(), check_policy(data), question, datetime.now(UTC))
        except PolicyError as exc:
            click.echo(f"invalid: {exc} [{exc.code}]", err=True)
            sys.exit(2)
        result = decision_json(decision, lang)
    emit(result, lambda r: click.echo(r["explanation"]))
    if not result["allowed"]:
        sys.exit(1)


@policy_group.command("template")
@click.argument("name")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Repeatable.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path))
def template(name: str, params: tuple[str, ...], output: Path | None) -> None:
    """Write a policy from template NAME (disaster-response, commercial-contract, open-data,
    personal-data), e.g. --param basin=https://w3id.org/tsunagu/id/basin/tsunagu-river."""
    from connector.policy.whatif import from_template

    values: dict[str, str] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--param")
        values[key] = value
    try:
        policy = from_template(name, values)
    except PolicyError as exc:
        raise click.ClickException(f"{exc} [{exc.code}]") from None
    text = json.dumps(policy.to_json(), ensure_ascii=False, indent=2)
    if output is None:
        click.echo(text)  # the policy is JSON, with or without --json
    else:
        output.write_text(text + "\n")
        emit({"output": str(output)}, lambda _: click.echo(f"wrote {output}", err=True))


@policy_group.command("duties")
@click.argument("directory", type=DIR)
@click.argument("agreement_id")
def duties(directory: Path, agreement_id: str) -> None:
    """List the duties recorded under AGREEMENT_ID (needs `tsunagu serve` running)."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("GET", f"/agreements/{agreement_id}/duties")

    emit(run(go), _duties_view)


def _duties_view(d: dict[str, Any]) -> None:
    summary(
        f"agreement {d['agreement_id']}",
        [
            ("open duties", ", ".join(d["open"]) or "none"),
            ("prohibited", ", ".join(d["prohibited"]) or "nothing"),
        ],
    )
    table(
        d["duties"],
        [("action", "duty"), ("state", "state"), ("due_at", "due")],
        empty="the agreement states no duties",
    )


def record_fetched(
    directory: Path, transfer_id: str, output: Path, headers: dict[str, str]
) -> None:
    """After `tsunagu fetch --output FILE`: the agreement's attribution goes into the file's
    metadata (FILE.tsunagu.json), and the connector learns where the data is, to delete it
    when a `delete` duty falls due."""
    from connector.policy.duties import ATTRIBUTION

    async def go() -> Any:
        async with client_for(directory) as client:
            transfer = await client.call("GET", f"/transfers/{transfer_id}")
            duty = await client.call(
                "POST", f"/transfers/{transfer_id}/stored", json={"path": str(output.resolve())}
            )
            return transfer, duty["duty"]

    transfer, duty = run(go)
    lowered = {k.lower(): v for k, v in headers.items()}
    metadata = {
        "transfer_id": transfer_id,
        "agreement_id": transfer.get("agreement_id"),
        "provider": transfer.get("counterparty"),
        "content_type": lowered.get("content-type"),
        "attribution": lowered.get(ATTRIBUTION.lower()),
        "delete_by": duty["due_at"] if duty else None,
    }
    sidecar = output.with_name(output.name + ".tsunagu.json")
    sidecar.write_text(json.dumps(metadata, ensure_ascii=False, indent=2) + "\n")
    if metadata["attribution"]:
        click.echo(f"attribution: {metadata['attribution']}", err=True)
    if duty:
        click.echo(f"the agreement asks for deletion by {duty['due_at']}", err=True)


@policy_group.group("geography")
def geography_group() -> None:
    """The basins the participant's decision point knows (geography.toml)."""


@geography_group.command("show")
@click.argument("directory", type=DIR)
def geography_show(directory: Path) -> None:
    """Show geography.toml and the basins known from it (needs `tsunagu serve` running)."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("GET", "/policies/geography")

    emit(run(go), _geography_view)


@geography_group.command("set")
@click.argument("directory", type=DIR)
@click.argument("file", type=FILE)
def geography_set(directory: Path, file: Path) -> None:
    """Replace geography.toml with FILE (TOML in its format, or JSON), checked by the running
    connector first: vocabulary basins, real municipality codes, readable station files."""
    import tomllib

    text = file.read_text(encoding="utf-8")
    try:
        document = json.loads(text) if file.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise click.BadParameter(f"cannot read {file}: {exc}", param_hint="FILE") from None

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("PUT", "/policies/geography", json=document)

    emit(run(go), _geography_view)


def _geography_view(g: dict[str, Any]) -> None:
    document = g["document"]
    summary(
        "geography.toml" if document else "no geography.toml: no basin is known",
        [("station files", ", ".join(document["stations"]) or "none")] if document else [],
    )
    table(
        [
            {**b, "municipalities": " ".join(b["municipalities"]), "stations": len(b["stations"])}
            for b in g["basins"]
        ],
        [
            ("iri", "basin"),
            ("river", "river"),
            ("municipalities", "municipalities"),
            ("stations", "stations"),
        ],  # fmt: skip
        empty="no basins",
    )
