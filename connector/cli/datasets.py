"""`tsunagu dataset`: publish, change, retire, remove and list this participant's datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from connector.cli import views
from connector.cli.common import DIR, client_for, run
from connector.cli.output import emit, say

_ADDRESS_HELP = (
    "JSON describing the owner's backend (kept private), or @FILE holding it; "
    "see examples/data-addresses/. A relative file path is taken from here."
)


@click.group()
def dataset() -> None:
    """Publish and manage this participant's datasets (needs `tsunagu serve` running)."""


def _steps(given: tuple[str, ...]) -> dict[str, str]:
    """`--step after_accept=hold ...` as the offer's steps (the API checks names and choices)."""
    out: dict[str, str] = {}
    for item in given:
        step, sep, choice = item.partition("=")
        if not sep or not step.strip() or not choice.strip():
            raise click.BadParameter(f"{item!r} is not STEP=CHOICE", param_hint="--step")
        if step.strip() in out:
            raise click.BadParameter(f"{step.strip()} given twice", param_hint="--step")
        out[step.strip()] = choice.strip()
    return out


def _path(dataset_id: str) -> str:
    return "/datasets/" + quote(dataset_id, safe=":/@")


@dataset.command("add")
@click.argument("directory", type=DIR)
@click.option("--id", "dataset_id", required=True, help="Dataset id (an IRI or urn).")
@click.option("--title", required=True)
@click.option("--description", default="")
@click.option("--keyword", "keywords", multiple=True)
@click.option("--theme", "themes", multiple=True, help="Theme concept IRI (repeatable).")
@click.option(
    "--policy",
    "policy_file",
    type=click.File("r"),
    help="ODRL offer as JSON (see examples/offers/); default: permit use.",
)
@click.option("--offer-id", help="The offer's id; the policy's @id or a fresh urn:uuid if absent.")
@click.option(
    "--requires-approval", is_flag=True, help="Park negotiations until an operator decides."
)
@click.option(
    "--step",
    "steps",
    multiple=True,
    metavar="STEP=CHOICE",
    help="A later provider step of this offer (docs/holds.md), repeatable: after_accept=hold, "
    "finalize=hold, transfer_start=hold|window, narrower=hold|refuse, resume=hold "
    "(each also =auto; unset steps follow tsunagu.toml's [provider]).",
)
@click.option("--data-address", default=None, help=_ADDRESS_HELP)
@click.option(
    "--file",
    "data_file",
    type=click.Path(exists=True, path_type=Path),
    help="Shortcut for a file (or directory) data address.",
)
@click.option(
    "--subject-field",
    help="Personal data: the column / field naming each row's data subject (only rows of "
    "subjects whose consent covers an access are released).",
)
def dataset_add(
    directory: Path,
    dataset_id: str,
    title: str,
    description: str,
    keywords: tuple[str, ...],
    themes: tuple[str, ...],
    policy_file: Any,
    offer_id: str | None,
    requires_approval: bool,
    steps: tuple[str, ...],
    data_address: str | None,
    data_file: Path | None,
    subject_field: str | None,
) -> None:
    """Publish a dataset with one offer."""
    policy = (
        _json(policy_file.read(), "--policy")
        if policy_file
        else {"@type": "Offer", "permission": [{"action": "use"}]}
    )
    offer: dict[str, Any] = {"policy": policy, "requires_approval": requires_approval}
    if steps:
        offer["steps"] = _steps(steps)
    if offer_id:
        offer["id"] = offer_id
    body = {
        "id": dataset_id,
        "title": title,
        "description": description,
        "keywords": list(keywords),
        "themes": list(themes),
        "data_address": _address(data_address, data_file) or {},
        "offers": [offer],
    }
    if subject_field:
        body["personal"] = {"subject_field": subject_field}

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("POST", "/datasets", json=body)

    emit(run(go), lambda d: views.dataset(d, title=f"published dataset {d['id']}"))


@dataset.command("update")
@click.argument("directory", type=DIR)
@click.argument("dataset_id")
@click.option("--title")
@click.option("--description")
@click.option("--keyword", "keywords", multiple=True, help="Replaces the keywords (repeatable).")
@click.option("--theme", "themes", multiple=True, help="Replaces the themes (repeatable).")
@click.option(
    "--language",
    default=None,
    help="Language tag of the texts given (ja, en, ...): a published DCAT description changes"
    " only that language's text. Default: the language each text is written in.",
)
@click.option("--data-address", default=None, help=_ADDRESS_HELP)
@click.option(
    "--file",
    "data_file",
    type=click.Path(exists=True, path_type=Path),
    help="Shortcut for a file (or directory) data address.",
)
def dataset_update(
    directory: Path,
    dataset_id: str,
    title: str | None,
    description: str | None,
    keywords: tuple[str, ...],
    themes: tuple[str, ...],
    language: str | None,
    data_address: str | None,
    data_file: Path | None,
) -> None:
    """Change DATASET_ID's description or data address (only the options given); its
    published DCAT description, if any, changes too."""
    body: dict[str, Any] = {"title": title, "description": description}
    if keywords:
        body["keywords"] = list(keywords)
    if themes:
        body["themes"] = list(themes)
    address = _address(data_address, data_file)
    if address is not None:
        body["data_address"] = address
    body = {k: v for k, v in body.items() if v is not None}
    if not body:
        raise click.UsageError("nothing to change: give --title, --data-address, --file, ...")
    if language is not None:
        body["language"] = language

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("PATCH", _path(dataset_id), json=body)

    emit(run(go), lambda d: views.dataset(d, title=f"updated dataset {d['id']}"))


@dataset.command("retire")
@click.argument("directory", type=DIR)
@click.argument("dataset_id")
@click.option("--reason", default="", help="Told to peers that still ask for it.")
def dataset_retire(directory: Path, dataset_id: str, reason: str) -> None:
    """Take DATASET_ID off the catalogue: no new negotiations; agreements made go on."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("POST", _path(dataset_id) + "/retire", json={"reason": reason})

    emit(run(go), lambda d: views.dataset(d, title=f"retired dataset {d['id']}"))


@dataset.command("remove")
@click.argument("directory", type=DIR)
@click.argument("dataset_id")
def dataset_remove(directory: Path, dataset_id: str) -> None:
    """Delete DATASET_ID and its offers; refused while a negotiation or agreement names it."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("DELETE", _path(dataset_id))

    emit(run(go), lambda d: say(f"removed dataset {d['id']}"))


@dataset.group("offer")
def dataset_offer() -> None:
    """A dataset's offers."""


@dataset_offer.command("remove")
@click.argument("directory", type=DIR)
@click.argument("dataset_id")
@click.argument("offer_id")
def dataset_offer_remove(directory: Path, dataset_id: str, offer_id: str) -> None:
    """Withdraw OFFER_ID from DATASET_ID: peers no longer see it or negotiate under it, while
    what was agreed under it stays. Refused for the dataset's only offer (retire it instead)."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call(
                "DELETE", _path(dataset_id) + "/offers/" + quote(offer_id, safe=":@")
            )

    emit(run(go), lambda d: say(f"withdrew offer {d['offer']} from dataset {d['dataset']}"))


@dataset.command("show")
@click.argument("directory", type=DIR)
@click.argument("dataset_id")
def dataset_show(directory: Path, dataset_id: str) -> None:
    """One dataset with its offers and (private) data address."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("GET", _path(dataset_id))

    emit(run(go), views.dataset)


@dataset.command("list")
@click.argument("directory", type=DIR)
def dataset_list(directory: Path) -> None:
    """List the datasets this participant publishes."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("GET", "/datasets")

    emit(run(go), views.datasets)


def _json(text: str, option: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=option) from None


def _address(text: str | None, data_file: Path | None) -> dict[str, Any] | None:
    """The data address from --data-address (JSON or @FILE) or --file; a relative file path
    is made absolute here, where the user typed it."""
    if text is not None and data_file is not None:
        raise click.UsageError("give --data-address or --file, not both")
    if data_file is not None:
        return {"type": "file", "path": str(data_file.resolve())}
    if text is None:
        return None
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(
                f"cannot read {text[1:]}: {exc.strerror}", param_hint="--data-address"
            ) from None
    address = _json(text, "--data-address")
    if not isinstance(address, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--data-address")
    path = address.get("path")
    if address.get("type") == "file" and isinstance(path, str) and not Path(path).is_absolute():
        address["path"] = str(Path(path).resolve())
    return address
