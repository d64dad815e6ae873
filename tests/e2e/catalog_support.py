"""Publishing described datasets in the end-to-end catalogue tests."""

from __future__ import annotations

from typing import Any

from connector.demo.localspace import Participant
from tests.e2e.conftest import open_offer, publish

ENTRY = """
catalog:
  id: {did}#catalog
  participant: {did}
  title: {{ja: カタログ, en: catalogue}}
  publisher: &pub {{id: {did}, name: {{ja: {name}, en: {name}}}}}
  service: {{id: "{did}#dsp", endpoint: "https://connector.example/dsp/2025-1"}}
datasets:
  - id: {id}
    title: {{ja: {title}, en: {title_en}}}
    description: {{ja: {title}の観測値。, en: Readings of {title_en}.}}
    keywords: {{ja: [{keyword}], en: [{keyword_en}]}}
    themes: [{theme}]
    places: [{places}]
    period: {{start: 2024-04-01}}
    frequency: continuous
    publisher: *pub
    contact: {{name: {{ja: {name} 防災課}}, email: bousai@example.org}}
    formats: [HttpData-PULL]
    mode: direct
"""


def entry_yaml(
    participant: Participant,
    dataset_id: str,
    *,
    title: str = "上流橋河川水位",
    title_en: str = "Joryu Bridge water level",
    keyword: str = "水位",
    keyword_en: str = "water level",
    theme: str = "river-water-level",
    places: str = '"202151", tsunagu-river',
) -> str:
    return ENTRY.format(
        did=participant.did,
        name=participant.settings.name,
        id=dataset_id,
        title=title,
        title_en=title_en,
        keyword=keyword,
        keyword_en=keyword_en,
        theme=theme,
        places=places,
    )


async def described(
    participant: Participant,
    dataset_id: str,
    *,
    audience: list[str] | None = None,
    offers: list[dict[str, Any]] | None = None,
    offer_audience: dict[str, list[str]] | None = None,
    **fields: str,
) -> dict[str, Any]:
    """Add a dataset with offers, then publish its DCAT description."""
    await publish(participant, dataset_id, *(offers or [open_offer(dataset_id + ":offer")]))
    body = {
        "document": entry_yaml(participant, dataset_id, **fields),
        "format": "yaml",
        "audience": audience or [],
        "offer_audience": offer_audience or {},
    }
    result: dict[str, Any] = await participant.client.call("POST", "/catalog/entries", json=body)
    return result
