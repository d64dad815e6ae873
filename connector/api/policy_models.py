"""What the policy tools of the management API answer, as typed models for its OpenAPI
document. Times stay the text the connector wrote (ISO 8601); records may carry more fields
than named here, and the models keep them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from connector.api.schema import errors

NO_POLICY = errors((500, "This connector has no policy environment (`no_policy`)."))


class CheckOut(BaseModel):
    valid: bool = Field(description="Always true: a policy outside the profile is a 400.")
    kind: str = Field(description="Offer, Agreement or Set.")
    uid: str | None
    permissions: int = Field(description="How many permissions it grants.")
    prohibitions: list[str] = Field(description="The actions it prohibits.")
    obligations: list[str] = Field(description="The actions it obliges.")
    terms: dict[str, list[str]] = Field(description="The profile's terms it uses, per kind.")


class DecisionOut(BaseModel):
    allowed: bool
    code: str = Field(description="The first reason's code (`permitted` or `denied` if none).")
    codes: list[str] = Field(description="Every refusal's code.")
    reasons: list[str]
    explanation: str = Field(description="The decision in words (`lang`).")
    duties: list[str] = Field(description="Actions owed under the decision.")
    restrictions: list[str] = Field(description="Restrictions that apply while using the data.")


class TemplatesOut(BaseModel):
    templates: list[str] = Field(description="The template names.")


class PolicyOut(BaseModel):
    """An ODRL policy in DSP 2025-1 compact form (permission, prohibition, obligation, target,
    assigner, ... as the policy has them)."""

    id: str | None = Field(alias="@id")
    type: str = Field(alias="@type", description="Offer, Agreement or Set.")

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class AlertsOut(BaseModel):
    levels: dict[str, int] = Field(description="Basin or station IRI -> 警戒レベル in force.")


class AlertSetOut(AlertsOut):
    changed: dict[str, int] = Field(
        description="The areas whose level changed (a basin follows its stations) -> new level."
    )


class DutyRecordOut(BaseModel):
    id: str
    state: str
    role: str
    due_at: str | None
    fulfilled_at: str | None
    detail: dict[str, Any] | None

    model_config = ConfigDict(extra="allow")


class DutyOut(BaseModel):
    action: str
    state: str = Field(description="open, ongoing, fulfilled, ...")
    due_at: str | None
    records: list[DutyRecordOut]

    model_config = ConfigDict(extra="allow")


class DutiesOut(BaseModel):
    agreement_id: str
    duties: list[DutyOut]
    open: list[str] = Field(description="The actions still owed.")
    prohibited: list[str] = Field(description="The actions the agreement prohibits.")

    model_config = ConfigDict(extra="allow")


class StoredDutyOut(BaseModel):
    id: str
    action: str = Field(description="`delete`.")
    due_at: str
    path: str


class StoredOut(BaseModel):
    duty: StoredDutyOut | None = Field(description="The deletion owed (none: nothing is owed).")


class SweepOut(BaseModel):
    fulfilled: int = Field(description="How many duties were fulfilled now.")


class SignatureOut(BaseModel):
    signer: str = Field(description="The signer's DID.")
    jws: str
    valid: bool
    problem: str | None = Field(description="Why it does not verify.")


class SignaturesOut(BaseModel):
    agreement_id: str
    canonical_sha256: str = Field(description="The digest of the policy's canonical form.")
    signatures: list[SignatureOut]
    complete: bool = Field(description="Both parties signed, and both signatures verify.")


class BasinOut(BaseModel):
    iri: str = Field(description="The basin's IRI (the vocabulary's basin namespace).")
    river: str = Field(description="The river as the stations spell it.")
    municipalities: list[str] = Field(description="5-digit municipality codes in the basin.")
    stations: list[str] = Field(description="Station IRIs of the basin.")


class GeographyDocumentModel(BaseModel):
    """`geography.toml` as JSON: station files, river -> basin, basin -> extra members."""

    model_config = ConfigDict(extra="forbid")
    stations: list[str] = Field(
        default_factory=list,
        description="Station description files (Turtle), relative to the participant's directory.",
    )
    basins: dict[str, str] = Field(
        default_factory=dict, description="River name as the stations spell it -> basin IRI."
    )
    members: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Basin IRI -> municipality codes of the basin without a gauge of their own.",
    )


class GeographyOut(BaseModel):
    document: GeographyDocumentModel | None = Field(
        description="The participant's geography.toml (null: there is none)."
    )
    basins: list[BasinOut] = Field(description="The basins the decision point knows now.")
