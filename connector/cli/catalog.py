"""`tsunagu catalog`: read a provider's catalogue as it lets this participant see it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from connector.cli.common import DIR, client_for, print_json, run


@click.command()
@click.argument("directory", type=DIR)
@click.argument("provider")
@click.option(
    "--address", help="The provider's DSP base URL; found from its DID document when absent."
)
def catalog(directory: Path, provider: str, address: str | None) -> None:
    """Read PROVIDER's (a DID) catalogue as it lets this participant see it."""
    params = {"provider": provider} | ({"provider_address": address} if address else {})

    async def go() -> Any:
        async with client_for(directory) as client:
            return await client.call("GET", "/catalog", params=params)

    print_json(run(go))
