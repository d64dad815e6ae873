"""A complete catalogue entry for A市 (upstream), used across the catalogue tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from catalog.model import (
    ACCUMULATED,
    CONTINUOUS,
    DIRECT,
    Agent,
    Catalog,
    ContactPoint,
    DataService,
    Dataset,
    DatasetSeries,
    Distribution,
    Measure,
    PeriodOfTime,
    Text,
)
from policies.odrl import Constraint, LogicalConstraint, Operator, Policy, Reference, Rule

JST = timezone(timedelta(hours=9))
THEME = "https://w3id.org/tsunagu/vocab/theme/"
SAC = "http://data.e-stat.go.jp/lod/sac/"
BASIN = "https://w3id.org/tsunagu/vocab/basin/tsunagu-river"
A_CITY = "did:web:a-city.example"
SERVICE = DataService(
    id=A_CITY + "#dsp",
    endpoint_url="https://a-city.example/dsp/2025-1",
    title={"ja": "A市 データ連携窓口", "en": "A City data-space connector"},
    conforms_to=("https://w3id.org/dspace/2025/1/",),
)
PUBLISHER = Agent(
    id=A_CITY,
    name={"ja": "A市", "en": "A City"},
    identifier="202151",
    homepage="https://a-city.example/",
)
CONTACT = ContactPoint(
    name={"ja": "A市 危機管理課", "en": "A City crisis management"},
    email="bousai@a-city.example",
)
OFFER = Policy(
    kind="Offer",
    uid="urn:tsunagu:offer:a:basin-disaster-response",
    permissions=(
        Rule(
            "use",
            constraints=(
                Constraint(
                    "purpose",
                    Operator.EQ,
                    Reference(THEME.replace("theme", "purpose") + "disaster-response"),
                ),
                LogicalConstraint(
                    "or",  # type: ignore[arg-type]
                    (
                        Constraint(
                            "https://w3id.org/tsunagu/policy/role", Operator.EQ, "municipality"
                        ),
                        Constraint("dateTime", Operator.LT, "2030-01-01T00:00:00Z"),
                    ),
                ),
            ),
        ),
    ),
)
SERIES = DatasetSeries(
    id="https://a-city.example/dataset/water-level",
    title={"ja": "河川水位（観測所別）", "en": "River water level by station"},
    description={
        "ja": "繋川の観測所ごとの水位。",
        "en": "Water level per station on the Tsunagu River.",
    },
    keywords=(Text("水位", "ja"), Text("water level", "en")),
    themes=(THEME + "river-water-level",),
    spatial=(BASIN,),
    publisher=PUBLISHER,
    contact_point=CONTACT,
)
WATER_LEVEL = Dataset(
    id="https://a-city.example/dataset/water-level/joryu-bashi",
    title={"ja": "上流橋 河川水位", "en": "Joryu Bridge river water level"},
    description={
        "ja": "上流橋観測所の10分ごとの河川水位（m）。",
        "en": "River water level at the Joryu Bridge gauge, every 10 minutes (m).",
    },
    keywords=(Text("水位", "ja"), Text("河川", "ja"), Text("water level", "en")),
    themes=(THEME + "river-water-level",),
    publisher=PUBLISHER,
    contact_point=CONTACT,
    spatial=(SAC + "C20215", BASIN),
    temporal=PeriodOfTime(start=date(2024, 4, 1)),
    accrual_periodicity=CONTINUOUS,
    temporal_resolution="PT10M",
    conforms_to=("https://w3id.org/tsunagu/vocab/shapes/WaterLevelReadingShape",),
    license="https://creativecommons.org/licenses/by/4.0/",
    modified=datetime(2024, 9, 1, 9, 10, tzinfo=JST),
    measures=(
        Measure(
            "https://w3id.org/tsunagu/vocab/property/water-level", "http://qudt.org/vocab/unit/M"
        ),
    ),
    in_series=(SERIES.id,),
    offers=(OFFER,),
    distributions=(
        Distribution(
            format="HttpData-PULL",
            access_service=SERVICE.id,
            serving_mode=DIRECT,
            media_type="text/csv",
            title={"ja": "CSV（取得）", "en": "CSV (pull)"},
        ),
        Distribution(
            format="HttpData-PUSH",
            access_service=SERVICE.id,
            serving_mode=DIRECT,
            media_type="application/ld+json",
        ),
    ),
)
RAINFALL = Dataset(
    id="https://a-city.example/dataset/rainfall",
    title={"ja": "雨量", "en": "Rainfall"},
    description={"ja": "市内の10分雨量（mm）。", "en": "10-minute rainfall in the city (mm)."},
    keywords=(Text("雨量", "ja"), Text("rainfall", "en")),
    themes=(THEME + "rainfall",),
    publisher=PUBLISHER,
    contact_point=CONTACT,
    spatial=(SAC + "C20215",),
    temporal=PeriodOfTime(start=date(2020, 1, 1), end=date(2024, 12, 31)),
    measures=(
        Measure(
            "https://w3id.org/tsunagu/vocab/property/rainfall-10min",
            "http://qudt.org/vocab/unit/MilliM",
        ),
    ),
    offers=(OFFER,),
    distributions=(
        Distribution(format="HttpData-PULL", access_service=SERVICE.id, serving_mode=ACCUMULATED),
    ),
)
CATALOG = Catalog(
    id=A_CITY + "#catalog",
    participant_id=A_CITY,
    title={"ja": "A市 データカタログ", "en": "A City data catalogue"},
    description={"ja": "A市が流域に提供するデータ。", "en": "Data A City offers to the basin."},
    publisher=PUBLISHER,
    homepage="https://a-city.example/",
    theme_taxonomies=("https://w3id.org/tsunagu/vocab/ThemeScheme",),
    services=(SERVICE,),
    series=(SERIES,),
    datasets=(WATER_LEVEL, RAINFALL),
)
