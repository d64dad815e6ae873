"""The `tsunagu` command line: one module per command group, front ends only (they call the
management API through `connector.api.client`, or the libraries; never SQL)."""

from __future__ import annotations

import logging

import click

from connector.cli import (
    agreements,
    audit,
    authority,
    backup,
    catalog,
    consent,
    convert,
    datasets,
    demo,
    fetch,
    keys,
    negotiations,
    participant,
    policy,
    search,
    transfers,
    vocab,
)
from connector.cli.output import add_output_options


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log protocol traffic and decisions.")
def main(verbose: bool) -> None:
    """tsunagu (つなぐ): a data-space connector speaking the Dataspace Protocol 2025-1.

    Typical start: `tsunagu demo` runs a whole river basin on this machine. For your own
    participant: `tsunagu init DIR ...`, get a membership credential from your dataspace
    authority into DIR/credential.jwt, then `tsunagu serve DIR`.
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


for command in (
    participant.init,
    participant.serve,
    datasets.dataset,
    catalog.catalog,
    search.search,
    negotiations.negotiate,
    negotiations.negotiations,
    transfers.transfer,
    agreements.agreements,
    fetch.fetch_command,
    authority.authority_group,
    vocab.vocab_group,
    convert.convert_command,
    demo.demo,
    policy.policy_group,
    audit.audit_group,
    consent.consent_group,
    backup.backup_command,
    backup.restore_command,
    keys.keys_group,
):
    main.add_command(command)
add_output_options(main)
