"""Classifying water-level readings against their station's thresholds.

The ladder (水防団待機水位 < 氾濫注意水位 < 避難判断水位 < 氾濫危険水位, then the 氾濫発生 state)
and what each step triggers are read from the vocabulary (`data/thresholds.ttl`). A reading is
at the highest step whose threshold it has reached (value >= threshold); a station may lack some
thresholds, and then only the ones it has count. 氾濫発生 is a state reported as such, never
inferred from a reading.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from rdflib import URIRef
from rdflib.collection import Collection
from rdflib.namespace import SKOS

from vocab.errors import VocabularyError
from vocab.namespaces import PROPERTY, TSU
from vocab.records import Observation
from vocab.stations import Station
from vocab.vocabulary import Vocabulary, load_vocabulary

WATER_LEVEL = str(PROPERTY["water-level"])


@dataclass(frozen=True, slots=True)
class Term:
    iri: str
    label_ja: str
    label_en: str


@dataclass(frozen=True, slots=True)
class AlertLevel:
    iri: str
    level: int
    label_ja: str
    label_en: str
    evacuation: Term | None
    """The evacuation information issued at this level (高齢者等避難, 避難指示, 緊急安全確保)."""


@dataclass(frozen=True, slots=True)
class Level:
    """One step of the river risk ladder."""

    iri: str
    rank: int
    label_ja: str
    label_en: str
    is_state: bool
    """True for 氾濫発生, which is a state and not a water level."""
    alert_level: AlertLevel | None
    bulletin: Term | None


@dataclass(frozen=True, slots=True)
class Classification:
    observation: Observation
    station: Station
    level: Level | None
    """The highest step reached; None means below every threshold the station has (平常)."""
    next_level: Level | None
    margin_m: float | None
    """Metres still to go to `next_level`'s threshold."""

    @property
    def alert_level(self) -> AlertLevel | None:
        return None if self.level is None else self.level.alert_level

    @property
    def bulletin(self) -> Term | None:
        return None if self.level is None else self.level.bulletin

    def text(self) -> str:
        """One line for a person, e.g. '上流橋 2024-09-01T09:10:00+09:00 3.46 m: 避難判断水位
        (警戒レベル3)'."""
        obs = self.observation
        head = f"{self.station.name} {obs.result_time} {obs.value:g} m"
        if self.level is None:
            return f"{head}: 平常 (below all thresholds)"
        alert = f" ({self.alert_level.label_ja})" if self.alert_level else ""
        return f"{head}: {self.level.label_ja}{alert}"


def risk_ladder(vocabulary: Vocabulary | None = None) -> tuple[Level, ...]:
    """The ladder's steps, lowest first."""
    return _ladder(vocabulary or load_vocabulary())


@functools.cache
def _ladder(vocabulary: Vocabulary) -> tuple[Level, ...]:
    graph = vocabulary.graph
    head = graph.value(TSU.RiverRiskLadder, SKOS.memberList)
    if head is None:
        raise VocabularyError("the vocabulary has no river risk ladder", code="no_ladder")
    steps = []
    for member in Collection(graph, head):
        iri = str(member)
        rank = graph.value(member, TSU.riskLevel)
        if rank is None:
            raise VocabularyError(f"{iri} has no tsu:riskLevel", code="no_ladder")
        alert = graph.value(member, TSU.triggersAlertLevel)
        bulletin = graph.value(member, TSU.triggersBulletin)
        steps.append(
            Level(
                iri=iri,
                rank=int(str(rank)),
                label_ja=vocabulary.label(iri, "ja"),
                label_en=vocabulary.label(iri, "en"),
                is_state=(member, None, TSU.FloodState) in graph,
                alert_level=None if alert is None else _alert(vocabulary, alert),
                bulletin=None if bulletin is None else _term(vocabulary, str(bulletin)),
            )
        )
    return tuple(steps)


def _alert(vocabulary: Vocabulary, node: object) -> AlertLevel:
    iri = str(node)
    notation = vocabulary.graph.value(URIRef(iri), SKOS.notation)
    evacuation = vocabulary.graph.value(URIRef(iri), TSU.evacuationInformation)
    return AlertLevel(
        iri=iri,
        level=int(str(notation)),
        label_ja=vocabulary.label(iri, "ja"),
        label_en=vocabulary.label(iri, "en"),
        evacuation=None if evacuation is None else _term(vocabulary, str(evacuation)),
    )


def _term(vocabulary: Vocabulary, iri: str) -> Term:
    return Term(iri, vocabulary.label(iri, "ja"), vocabulary.label(iri, "en"))


def classify_level(
    level_m: float,
    thresholds: Mapping[str, float],
    *,
    flooding: bool = False,
    ladder: tuple[Level, ...] | None = None,
) -> tuple[Level | None, Level | None, float | None]:
    """(step reached, next step with a threshold, metres to it) for a level in metres."""
    ladder = ladder if ladder is not None else risk_ladder()
    if flooding:
        return ladder[-1], None, None
    reached: Level | None = None
    for step in ladder:
        threshold = thresholds.get(step.iri)
        if step.is_state or threshold is None:
            continue
        if level_m >= threshold:
            reached = step
        else:
            return reached, step, round(threshold - level_m, 6)
    return reached, None, None


def classify(
    observation: Observation,
    stations: Mapping[str, Station],
    *,
    flooding: bool = False,
    ladder: tuple[Level, ...] | None = None,
) -> Classification:
    """Classify one water-level reading (in metres) against its station's thresholds."""
    if observation.observed_property != WATER_LEVEL:
        raise VocabularyError(
            f"{observation.id} is not a water-level reading", code="not_a_water_level"
        )
    station = stations.get(observation.feature_of_interest)
    if station is None:
        raise VocabularyError(
            f"{observation.id}: station {observation.feature_of_interest} is unknown",
            code="unknown_station",
        )
    level, next_level, margin = classify_level(
        observation.value, station.thresholds, flooding=flooding, ladder=ladder
    )
    return Classification(observation, station, level, next_level, margin)


def classify_observations(
    records: Iterable[Observation], stations: Mapping[str, Station]
) -> Iterator[Classification]:
    """Classify every water-level reading in `records`; other readings are passed over."""
    ladder = risk_ladder()
    for record in records:
        if record.observed_property == WATER_LEVEL:
            yield classify(record, stations, ladder=ladder)
