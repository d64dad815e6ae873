"""The operator's policy tools on the management API: check a policy, "what would happen if",
templates, the flood-alert state the decision point reads, and duties owed per agreement."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import anyio
from fastapi import APIRouter
from pydantic import BaseModel, Field

from connector.api.deps import ConnectorDep, OperatorDep
from connector.api.policy_models import (
    NO_POLICY,
    AlertSetOut,
    AlertsOut,
    CheckOut,
    DecisionOut,
    DutiesOut,
    GeographyDocumentModel,
    GeographyOut,
    PolicyOut,
    SignaturesOut,
    StoredOut,
    SweepOut,
    TemplatesOut,
)
from connector.api.schema import ERRORS_400, ERRORS_401, ERRORS_404
from connector.errors import ConnectorError, MessageError, NotFound
from connector.policy.duties import listing, register_stored, sweep
from connector.policy.geography_file import (
    describe,
    parse_document,
    read_document,
    replace_document,
)
from connector.policy.whatif import (
    TEMPLATES,
    WhatIf,
    check_report,
    decision_json,
    from_template,
    what_if,
)
from connector.store.tables import TransferRow
from policies.errors import PolicyError
from policies.geography import Geography
from policies.profile import check_policy

router = APIRouter(
    prefix="/management", tags=["policies"], dependencies=[OperatorDep], responses=ERRORS_401
)


def _bad(exc: PolicyError) -> MessageError:
    return MessageError(f"the policy is not usable: {exc}", code=exc.code or "invalid_policy")


class CheckIn(BaseModel):
    policy: dict[str, Any]


class ExplainIn(BaseModel):
    policy: dict[str, Any] = Field(description="An ODRL offer or agreement (compact or full IRIs).")
    requester: str = Field(alias="as", description="The requester's DID.")
    purpose: str | None = None
    at: datetime | None = Field(None, description="The decision instant (default: now).")
    role: str | None = None
    municipality_code: str | None = None
    memberships: list[str] = []
    phase: str = "negotiation"
    uses: int | None = Field(None, ge=0, description="Accesses made so far (for count).")
    agreed_at: datetime | None = None
    pay_amount: str | None = None
    currency: str | None = None
    lang: str = Field("en", pattern="^(en|ja)$")


class TemplateIn(BaseModel):
    params: dict[str, str] = {}


class AlertIn(BaseModel):
    area: str = Field(min_length=1, max_length=2048, description="Basin or station IRI.")
    level: int = Field(ge=0, le=5, description="警戒レベル in force (0: none).")


@router.post("/policies/check", response_model=CheckOut, responses=ERRORS_400)
async def check(body: CheckIn) -> dict[str, Any]:
    """Validate a policy against tsunagu's profile and list the terms it uses."""
    try:
        return check_report(body.policy)
    except PolicyError as exc:
        raise _bad(exc) from exc


@router.post("/policies/explain", response_model=DecisionOut, responses={**ERRORS_400, **NO_POLICY})
async def explain(body: ExplainIn, connector: ConnectorDep) -> dict[str, Any]:
    """What would happen if this participant asked under this policy: the decision of this
    connector's decision point (its basins and live alert state), with the reasons."""
    if connector.policy is None:
        raise ConnectorError("this connector has no policy environment", code="no_policy")
    payment = None
    if body.pay_amount is not None:
        try:
            payment = (Decimal(body.pay_amount), body.currency or "JPY")
        except InvalidOperation:
            raise MessageError("pay_amount is not a number", code="invalid_value") from None
    try:
        policy = check_policy(body.policy)
        question = WhatIf(
            did=body.requester,
            purpose=body.purpose,
            at=body.at,
            role=body.role,
            municipality_code=body.municipality_code,
            memberships=tuple(body.memberships),
            phase=body.phase,
            uses=body.uses,
            agreed_at=body.agreed_at,
            payment=payment,
        )
        decision = what_if(connector.policy.pdp, policy, question, connector.clock())
    except PolicyError as exc:
        raise _bad(exc) from exc
    return decision_json(decision, body.lang)


@router.get("/policies/templates", response_model=TemplatesOut)
async def templates() -> dict[str, Any]:
    """The names of the policy templates (`POST /management/policies/templates/{name}`)."""
    return {"templates": list(TEMPLATES)}


@router.post(
    "/policies/templates/{name}",
    response_model=PolicyOut,
    response_model_exclude_unset=True,
    responses={**ERRORS_400, **ERRORS_404},
)
async def template(name: str, body: TemplateIn) -> dict[str, Any]:
    """A policy from a template, its parameters as text (dates with a time zone); 404
    `unknown_template` for a name not among the templates."""
    if name not in TEMPLATES:
        raise NotFound(
            f"no template {name!r}; there are {', '.join(TEMPLATES)}", code="unknown_template"
        )
    try:
        return from_template(name, body.params).to_json()
    except PolicyError as exc:
        raise _bad(exc) from exc


@router.get("/alerts", response_model=AlertsOut)
async def alerts(connector: ConnectorDep) -> dict[str, Any]:
    """The flood-alert levels in force, per basin and station, as the decision point reads
    them."""
    levels = connector.policy.alerts.levels() if connector.policy else {}
    return {"levels": levels}


@router.put("/alerts", response_model=AlertSetOut, responses={**ERRORS_400, **NO_POLICY})
async def set_alert(body: AlertIn, connector: ConnectorDep) -> dict[str, Any]:
    """Set the level in force for a station or basin (the basin watch does this from the
    gauges; an operator may too). Transfers that held only during an alert end when it is
    over. Each change is an `alert.changed` audit entry (new and previous levels, who)."""
    if connector.policy is None:
        raise ConnectorError("this connector has no policy environment", code="no_policy")
    alerts = connector.policy.alerts
    changed = await connector.store.call(alerts.set_level, body.area, body.level)  # audited
    return {"changed": changed, "levels": alerts.levels()}


@router.get("/policies/geography", response_model=GeographyOut, responses=ERRORS_400)
async def geography(connector: ConnectorDep) -> dict[str, Any]:
    """The participant's geography.toml and the basins the decision point knows from it."""
    document = read_document(connector.settings.directory)
    known = connector.policy.geography if connector.policy else None
    return {"document": document.to_json() if document else None, "basins": describe(known)}


@router.put(
    "/policies/geography", response_model=GeographyOut, responses={**ERRORS_400, **NO_POLICY}
)
async def replace_geography(
    body: GeographyDocumentModel, connector: ConnectorDep
) -> dict[str, Any]:
    """Replace geography.toml: basins must be the vocabulary's, municipality codes real and
    every station file readable, or nothing changes (400 `invalid_geography`). The decision
    point knows the new basins at once; the audit log records the swap (`geography.replaced`,
    digests of the new and the previous file)."""
    if connector.policy is None:
        raise ConnectorError("this connector has no policy environment", code="no_policy")
    document = parse_document(body.model_dump())

    def replace() -> Geography:
        return replace_document(
            connector.settings.directory,
            document,
            store=connector.store,
            did=connector.did,
            by="operator",
            at=connector.clock(),
        )

    known = await anyio.to_thread.run_sync(replace)
    connector.policy.use_geography(known)
    return {"document": document.to_json(), "basins": describe(known)}


@router.get(
    "/agreements/{agreement_id:path}/duties",
    response_model=DutiesOut,
    responses={**ERRORS_400, **ERRORS_404},
)
async def agreement_duties(agreement_id: str, connector: ConnectorDep) -> dict[str, Any]:
    """The duties of an agreement and what was recorded of them (open ones listed in `open`),
    with its prohibitions (such as no onward transfer)."""

    def read() -> dict[str, Any]:
        with connector.store.transaction() as tx:
            agreement = tx.agreement(agreement_id)
        return listing(connector.store, agreement, connector.clock())

    result: dict[str, Any] = await connector.store.call(read)
    return result


class StoredIn(BaseModel):
    path: str = Field(min_length=1, max_length=4096, description="Where the data was written.")


@router.post(
    "/transfers/{pid}/stored", response_model=StoredOut, responses={**ERRORS_400, **ERRORS_404}
)
async def stored(pid: str, body: StoredIn, connector: ConnectorDep) -> dict[str, Any]:
    """Consumer: `tsunagu fetch` wrote this transfer's data to `path`. Under an agreement with
    a `delete` duty, the connector deletes it when due and records the confirmation."""

    def register() -> dict[str, Any] | None:
        with connector.store.transaction() as tx:
            transfer = tx.process(TransferRow, pid)
            agreement = tx.agreement(transfer.agreement_id)
        return register_stored(
            connector.store, agreement, transfer_id=pid, path=body.path, now=connector.clock()
        )

    duty = await connector.store.call(register)
    return {"duty": duty}


@router.post("/duties/sweep", response_model=SweepOut)
async def sweep_duties(connector: ConnectorDep) -> dict[str, Any]:
    """Fulfil what is due now (deletions); the policy monitor does this on its rounds."""
    done = await connector.store.call(sweep, connector.store, connector.clock())
    return {"fulfilled": done}


@router.get(
    "/agreements/{agreement_id:path}/signatures",
    response_model=SignaturesOut,
    responses={**ERRORS_400, **ERRORS_404, **NO_POLICY},
)
async def agreement_signatures(agreement_id: str, connector: ConnectorDep) -> dict[str, Any]:
    """Both parties' signatures over the agreement's canonical form (RFC 8785), each verified
    again against the stored policy; `complete` when both are there and valid."""
    if connector.signer is None:
        raise ConnectorError("agreement signatures are not kept here", code="no_policy")
    return await connector.signer.listing(agreement_id)
