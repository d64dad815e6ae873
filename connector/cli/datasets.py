"""`tsunagu dataset`: publish and list this participant's datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from connector.cli.common import DIR, client_for, print_json, run


@click.group()
def dataset() -> None:
    """Publish and list this participant's datasets (needs `tsunagu serve` running)."""


@dataset.command("add")
@click.argument("directory", type=DIR)
@click.option("--id", "dataset_id", required=True, help="Dataset id (an IRI or urn).")
@click.option("--title", required=True)
@click.option("--description", default="")
@click.option("--keyword", "keywords", multiple=True)
@click.option("--theme", "themes", multiple=True, help="Theme concept IRI (repeatable).")
@click.option(
    "--policy", "policy_file", type=click.File("r"), help="ODRL offer as JSON; default: permit use."
)
@click.option(
    "--requires-approval", is_flag=True, help="Park negotiations until an operator decides."
)
@click.option(
    "--data-address", default="{}", help="JSON describing the owner's backend (kept private)."
)
def dataset_add(
    directory: Path,
    dataset_id: str,
    title: str,
    description: str,
    keywords: tuple[str, ...],
    themes: tuple[str, ...],
    policy_file: Any,
    requires_approval: bool,
    data_address: str,
) -> None:
    """Publish a dataset with one offer."""
    policy = (
        _json(policy_file.read(), "--policy")
        if policy_file
        else {"@type": "Offer", "permission": [{"action": "use"}]}
    )
    body = {
        "id": dataset_id,
        "title": title,
        "description": description,
        "keywords": list(keywords),
        "themes": list(themes),
        "data_address": _json(data_address, "--data-address"),
        "offers": [{"policy": policy, "requires_approval": requires_approval}],
    }

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("POST", "/datasets", json=body)

    print_json(run(go))


@dataset.command("list")
@click.argument("directory", type=DIR)
def dataset_list(directory: Path) -> None:
    """List the datasets this participant publishes."""

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("GET", "/datasets")

    print_json(run(go))


def _json(text: str, option: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=option) from None
