"""Publishing DCAT descriptions of our datasets: read, complete, validate, store.

A description names a dataset the operator added (`tsunagu dataset add`, which holds the
private data address and the offers); its id is that dataset's id. Before anything is stored,
the dataset is completed as peers will see it (our offers, our distributions) and checked:
unknown themes, places or units are errors, and tsunagu's profile shapes must pass. One file
may describe several datasets; either all are published or none.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from catalog.authoring import load_yaml
from catalog.dsp import dataset_to_json, parse_catalog, parse_dataset
from catalog.errors import CatalogError
from catalog.model import Catalog, Dataset, Text, Texts
from catalog.portal import read_portal
from catalog.rdf import parse as parse_rdf
from catalog.validation import check_publishable
from connector.clock import Clock
from connector.control.catalog import CatalogService
from connector.errors import NotFound
from connector.store import catalog_queries as q
from connector.store.store import Store, Transaction
from connector.store.tables import DatasetRow
from policies.odrl import Policy, parse_policy

FORMATS = ("turtle", "json-ld", "xml", "yaml", "dsp", "ckan-turtle", "ckan-json-ld", "ckan-xml")


def read_descriptions(document: str, fmt: str, *, rename: str | None = None) -> list[Dataset]:
    """The datasets a file describes. `ckan-*` reads a portal's DCAT-AP (ckanext-dcat);
    `dsp` a DSP Dataset or Catalog JSON. `rename` gives a single imported dataset our id."""
    if fmt in ("turtle", "json-ld", "xml"):
        catalog = parse_rdf(document, fmt)
    elif fmt == "yaml":
        catalog = load_yaml(document)
    elif fmt.startswith("ckan-") and fmt.removeprefix("ckan-") in ("turtle", "json-ld", "xml"):
        catalog = read_portal(document, fmt.removeprefix("ckan-"))
    elif fmt == "dsp":
        try:
            data = json.loads(document)
        except ValueError as exc:
            raise CatalogError(f"not JSON: {exc}", code="invalid_json") from exc
        kind = data.get("@type") if isinstance(data, dict) else None
        if kind == "Dataset":
            catalog = Catalog(
                id="urn:tsunagu:upload", participant_id=None, datasets=(parse_dataset(data),)
            )
        else:
            catalog = parse_catalog(data)
    else:
        raise CatalogError(
            f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", code="unknown_format"
        )
    datasets = list(catalog.all_datasets())
    if not datasets:
        raise CatalogError("the file describes no dataset", code="no_datasets")
    if rename is not None:
        if len(datasets) != 1:
            raise CatalogError(
                f"--as names one dataset, but the file describes {len(datasets)}",
                code="rename_ambiguous",
            )
        datasets = [dataclasses.replace(datasets[0], id=rename)]
    return datasets


LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True)
class TextChange:
    """New text of a published dataset, per language; languages not named stay as they are,
    an empty value (or an empty keyword list) removes that language. `themes`, when given,
    replaces the themes."""

    title: Mapping[str, str] | None = None
    description: Mapping[str, str] | None = None
    keywords: Mapping[str, Sequence[str]] | None = None
    themes: Sequence[str] | None = None

    def apply(self, dataset: Dataset) -> Dataset:
        return dataclasses.replace(
            dataset,
            title=_merged(dataset.title, self.title, "title"),
            description=_merged(dataset.description, self.description, "description"),
            keywords=_merged_lists(dataset.keywords, self.keywords),
            themes=dataset.themes if self.themes is None else tuple(self.themes),
        )

    def __bool__(self) -> bool:
        return any(
            v is not None for v in (self.title, self.description, self.keywords, self.themes)
        )


# Hiragana, katakana, CJK ideographs, half-width katakana: text written in Japanese.
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")


def language_of(value: str) -> str:
    """The language of a plain (untagged) text: `ja` when written in Japanese script, else `en`."""
    return "ja" if _JAPANESE.search(value) else "en"


def plain_change(fields: Mapping[str, object], language: str | None = None) -> TextChange:
    """The change to a published description that a dataset's plain fields (`tsunagu dataset
    update`: one title, one description, keywords, themes) make. Each text replaces the text
    in `language`, or in the language it is written in (`language_of`); keywords replace all
    keywords (those of `language` only when it is given). An empty text with no language
    names no language, so it leaves the description's text alone."""

    def one(value: object) -> dict[str, str] | None:
        if not isinstance(value, str) or not (language or value.strip()):
            return None
        return {language or language_of(value): value}

    keywords: dict[str, list[str]] | None = None
    given = fields.get("keywords")
    if isinstance(given, list):
        if language is not None:
            keywords = {language: [str(k) for k in given]}
        else:
            keywords = {"ja": [], "en": []}
            for word in given:
                keywords.setdefault(language_of(str(word)), []).append(str(word))
    themes = fields.get("themes")
    return TextChange(
        title=one(fields.get("title")),
        description=one(fields.get("description")),
        keywords=keywords,
        themes=[str(t) for t in themes] if isinstance(themes, list) else None,
    )


def _language(tag: str, field: str) -> str:
    if not LANGUAGE.match(tag):
        raise CatalogError(
            f"{field}: {tag!r} is not a language tag (write ja, en, ...)", code="invalid_language"
        )
    return tag


def _merged(old: Texts, new: Mapping[str, str] | None, field: str) -> Texts:
    if new is None:
        return old
    named = {_language(k, field) for k in new}
    kept = tuple(t for t in old if t.language not in named)
    return kept + tuple(Text(v.strip(), k) for k, v in new.items() if v.strip())


def _merged_lists(old: Texts, new: Mapping[str, Sequence[str]] | None) -> Texts:
    if new is None:
        return old
    named = {_language(k, "keywords") for k in new}
    kept = tuple(t for t in old if t.language not in named)
    return kept + tuple(
        Text(word.strip(), k) for k, words in new.items() for word in words if word.strip()
    )


@dataclass(frozen=True)
class Revision:
    """Descriptions checked by `Publisher.prepare`, to be stored as they are."""

    served: tuple[Dataset, ...]
    audience: tuple[str, ...]
    offer_audience: Mapping[str, tuple[str, ...]]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Published:
    dataset_id: str
    created: bool
    warnings: tuple[str, ...]


class Publisher:
    def __init__(self, store: Store, catalog: CatalogService, clock: Clock) -> None:
        self.store = store
        self.catalog = catalog
        self.clock = clock

    def publish(
        self,
        datasets: Sequence[Dataset],
        *,
        audience: Sequence[str] = (),
        offer_audience: Mapping[str, Sequence[str]] | None = None,
        dry_run: bool = False,
    ) -> list[Published]:
        """Validate every description as it would be served; store them unless `dry_run`."""
        revision = self.prepare(datasets, audience=audience, offer_audience=offer_audience)
        if dry_run:
            return [Published(d.id, False, revision.warnings) for d in revision.served]
        with self.store.transaction() as tx:
            return self.store_revision(tx, revision)

    def prepare(
        self,
        datasets: Sequence[Dataset],
        *,
        audience: Sequence[str] = (),
        offer_audience: Mapping[str, Sequence[str]] | None = None,
    ) -> Revision:
        """The descriptions completed as served and validated, ready to store (nothing is)."""
        ids = [d.id for d in datasets]
        if len(set(ids)) != len(ids):
            raise CatalogError("the file describes a dataset twice", code="duplicate_dataset")
        with self.store.transaction() as tx:
            found = (tx.session.get(DatasetRow, i) for i in ids)
            rows = {r.id: r for r in found if r is not None}
            offers = q.offers_of(tx.session, ids)
        missing = [i for i in ids if i not in rows]
        if missing:
            raise NotFound(
                f"no dataset {missing[0]!r}: add it first with `tsunagu dataset add` (it holds "
                "the data address and the offers), then publish its description",
                code="unknown_dataset",
            )
        by_dataset: dict[str, list[Policy]] = {}
        for o in offers:
            by_dataset.setdefault(o.dataset_id, []).append(parse_policy(o.policy))
        known_offers = {o.id for o in offers}
        for offer_id in offer_audience or {}:
            if offer_id not in known_offers:
                raise CatalogError(f"no offer {offer_id!r} on these datasets", code="unknown_offer")
        served = []
        for d in datasets:
            mine = tuple(by_dataset.get(d.id, []))
            if not mine:
                raise CatalogError(
                    f"dataset {d.id!r} has no offer yet; add one before publishing",
                    code="no_offer",
                )
            served.append(self.catalog.complete(rows[d.id], mine, description=d))
        report = check_publishable(self.catalog.shell(tuple(served)))
        return Revision(
            served=tuple(served),
            audience=tuple(audience),
            offer_audience={k: tuple(v) for k, v in (offer_audience or {}).items()},
            warnings=tuple(i.text() for i in report.warnings),
        )

    def store_revision(self, tx: Transaction, revision: Revision) -> list[Published]:
        """Store what `prepare` checked, in the caller's transaction."""
        now = self.clock()
        out = []
        for d in revision.served:
            created = q.put_entry(
                tx.session,
                dataset_id=d.id,
                description=dataset_to_json(d, root=False),
                audience=list(revision.audience),
                offer_audience={
                    k: list(v)
                    for k, v in revision.offer_audience.items()
                    if k in {o.uid for o in d.offers}
                },
                now=now,
                own_did=self.catalog.own_did,
            )
            out.append(Published(d.id, created, revision.warnings))
        return out

    def change_text(self, dataset_id: str, change: TextChange) -> Published:
        """Set titles, descriptions or keywords of one dataset (described or not yet), keeping
        the rest of its description and who may see it; validated like any publication."""
        revision = self.prepare_change(dataset_id, change)
        with self.store.transaction() as tx:
            return self.store_revision(tx, revision)[0]

    def prepare_change(self, dataset_id: str, change: TextChange) -> Revision:
        """`change` applied to the dataset as published (retired or not), validated, not stored."""
        current = self.catalog.operator_view(dataset_id)
        with self.store.transaction() as tx:
            entry = q.entry(tx.session, dataset_id)
            audience = q.audience(tx.session, dataset_id)
        offer_audience = entry.offer_audience if entry is not None else {}
        return self.prepare(
            [change.apply(current)], audience=audience, offer_audience=offer_audience
        )

    def is_described(self, dataset_id: str) -> bool:
        with self.store.transaction() as tx:
            return q.entry(tx.session, dataset_id) is not None
