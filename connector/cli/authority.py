"""`tsunagu authority ...`: run a dataspace authority from a directory.

The authority issues membership credentials (VC-JWTs) to participants and publishes its DID
document and a revocation status list. See docs/identity.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from connector.cli.output import emit, json_mode, print_json, say, summary, table
from connector.clock import Clock, system_clock
from connector.errors import ConnectorError
from connector.private_files import write_private

if TYPE_CHECKING:
    from connector.identity.authority import Authority

__all__ = ["authority_group"]

_F = TypeVar("_F", bound=Callable[..., Any])

_DIRECTORY = click.argument(
    "directory", type=click.Path(path_type=Path, file_okay=False, dir_okay=True)
)


def _friendly_errors(command: _F) -> _F:
    """Turn our own errors into a one-line `Error: ...` and exit status 1, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ConnectorError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def _authority() -> type[Authority]:
    from connector.identity.authority import Authority  # keys and DIDs: loaded when used

    return Authority


def _now() -> datetime:
    # Tests pass a ManualClock as `obj={"clock": ...}`; everyone else gets the system clock.
    obj = click.get_current_context().obj
    clock: Clock = obj.get("clock", system_clock) if isinstance(obj, dict) else system_clock
    return clock()


@click.group("authority")
def authority_group() -> None:
    """Run a dataspace authority: issue and revoke membership credentials.

    An authority lives in a directory (its key, DID, config and issued-credential registry).
    Connectors trust the authorities named in their config and accept peers whose membership
    credential one of them issued and has not revoked.
    """


@authority_group.command("init")
@_DIRECTORY
@click.option("--name", required=True, help="Display name, e.g. 'Kiso River Basin Council'.")
@click.option(
    "--port", type=click.IntRange(1, 65535), required=True, help="Port the authority serves on."
)
@click.option(
    "--host",
    default="localhost",
    show_default=True,
    help="Public host name; the DID is did:web:<host>[%3A<port>].",
)
@click.option(
    "--base-url",
    default=None,
    help="Public URL if it differs from the default (e.g. behind a TLS proxy).",
)
@_friendly_errors
def init(directory: Path, name: str, port: int, host: str, base_url: str | None) -> None:
    """Create a new authority in DIRECTORY: key pair, DID and an empty status list."""
    authority = _authority().init(directory, name=name, host=host, port=port, base_url=base_url)
    record = {
        "name": authority.name,
        "did": authority.did,
        "status_list": authority.status_list_url,
        "directory": str(directory),
    }

    def human(r: dict[str, Any]) -> None:
        summary(
            f"created authority {r['name']!r}",
            [("DID", r["did"]), ("status list", r["status_list"])],
        )
        say("Add the DID to each connector's trusted authorities (tsunagu init DIR --trust DID).")

    emit(record, human)


@authority_group.command("issue")
@_DIRECTORY
@click.option("--subject", required=True, help="The participant's DID (did:web:...).")
@click.option("--legal-name", required=True, help="The participant's legal name.")
@click.option(
    "--role",
    required=True,
    help="Role in the dataspace: municipality, company, auditor, authority, ...",
)
@click.option(
    "--municipality-code",
    default=None,
    help="全国地方公共団体コード, 5 or 6 digits (municipalities only).",
)
@click.option(
    "--membership",
    "memberships",
    multiple=True,
    help="A body the participant belongs to (IRI or name); repeat for several.",
)
@click.option("--valid-days", type=int, default=365, show_default=True, help="Validity period.")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the credential to FILE instead of printing it.",
)
@click.option(
    "--address",
    default=None,
    help="The participant's DSP base URL for the participant list (default: beside its DID).",
)
@_friendly_errors
def issue(
    directory: Path,
    subject: str,
    legal_name: str,
    role: str,
    municipality_code: str | None,
    memberships: tuple[str, ...],
    valid_days: int,
    output: Path | None,
    address: str | None,
) -> None:
    """Issue a membership credential (a VC-JWT) to a participant."""
    authority = _authority().load(directory)
    token = authority.issue(
        subject=subject,
        legal_name=legal_name,
        role=role,
        municipality_code=municipality_code,
        memberships=memberships,
        valid_days=valid_days,
        now=_now(),
        address=address,
    )
    if output is None:
        # The credential is what was asked for: printed as such (JSON: beside its subject).
        if json_mode():
            print_json({"subject": subject, "credential": token})
        else:
            click.echo(token)
        return
    write_private(output, token + "\n")  # a credential: its holder's alone
    if json_mode():
        print_json({"subject": subject, "output": str(output)})
    else:
        click.echo(f"wrote the credential for {subject} to {output}", err=True)


@authority_group.command("revoke")
@_DIRECTORY
@click.option("--subject", default=None, help="Revoke every credential issued to this DID.")
@click.option("--index", type=int, default=None, help="Revoke the credential at this index.")
@_friendly_errors
def revoke(directory: Path, subject: str | None, index: int | None) -> None:
    """Revoke credentials; verifiers notice within their status-list cache time (~1 min)."""
    if (subject is None) == (index is None):
        raise click.UsageError("give exactly one of --subject or --index")
    flipped = _authority().load(directory).revoke(subject=subject, index=index, now=_now())
    emit(
        {"revoked": flipped},
        lambda _: say(
            "revoked status index " + ", ".join(str(i) for i in flipped)
            if flipped
            else "already revoked; nothing changed"
        ),
    )


@authority_group.command("participants")
@_DIRECTORY
@click.option("--signed", is_flag=True, help="Print the signed list (JWS) connectors fetch.")
@_friendly_errors
def participants(directory: Path, signed: bool) -> None:
    """The participant list the authority publishes at /participants."""
    authority = _authority().load(directory)
    if signed:
        jws = authority.participant_list(_now())
        if json_mode():
            print_json({"jws": jws})
        else:
            click.echo(jws)
        return
    rows = [
        {"did": p.did, "name": p.name, "address": p.address, "roles": ", ".join(p.roles)}
        for p in authority.participants(_now())
    ]
    emit(
        rows,
        lambda shown: table(
            shown,
            [("did", "DID"), ("name", "name"), ("address", "address"), ("roles", "roles")],
            empty="no participants yet: issue credentials with `tsunagu authority issue`",
        ),
    )


@authority_group.command("list")
@_DIRECTORY
@_friendly_errors
def list_issued(directory: Path) -> None:
    """List issued credentials and whether they are revoked."""
    rows = [
        {
            "status_index": entry.status_index,
            "subject": entry.subject,
            "legal_name": entry.legal_name,
            "role": entry.role,
            "valid_until": entry.valid_until,
            "revoked_at": entry.revoked_at,
            "state": f"revoked {entry.revoked_at}"
            if entry.revoked_at
            else f"valid until {entry.valid_until}",
        }
        for entry in _authority().load(directory).issued()
    ]
    emit(
        rows,
        lambda shown: table(
            shown,
            [
                ("status_index", "status index"),
                ("subject", "subject DID"),
                ("legal_name", "legal name"),
                ("role", "role"),
                ("state", "state"),
            ],
            empty="no credentials issued yet",
        ),
    )


@authority_group.command("serve")
@_DIRECTORY
@click.option(
    "--dev",
    is_flag=True,
    help="Allow a plain-http base URL on localhost (development only).",
)
@_friendly_errors
def serve(directory: Path, dev: bool) -> None:
    """Serve the DID document and the status list on 127.0.0.1:<port>.

    In production put a TLS-terminating proxy in front; the public URL is the base URL.
    """
    import uvicorn

    from connector.api.authority import build_authority_app
    from connector.serving import SERVER_LOOP

    authority = _authority().load(directory)
    if authority.base_url.startswith("http://") and not dev:
        raise click.ClickException(
            f"{authority.base_url} is plain http: pass --dev for local development, "
            "or set base_url to the https address of a TLS proxy"
        )
    url = f"http://127.0.0.1:{authority.port}"
    if json_mode():
        print_json({"did": authority.did, "serving": url})
    else:
        click.echo(f"serving {authority.did} on {url}", err=True)
    app = build_authority_app(authority, system_clock)
    uvicorn.run(app, host="127.0.0.1", port=authority.port, loop=SERVER_LOOP)
