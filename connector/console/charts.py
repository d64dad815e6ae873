"""The dashboard's pictures, drawn on the server as SVG: a station's water level over time on
its four MLIT threshold bands, rainfall as bars, and the basin's stations on a map from the
vocabulary's coordinates. No script, no external tiles: the page works offline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape, quoteattr

from connector.console.river import Reading
from vocab.stations import Station
from vocab.thresholds import risk_ladder

# The ladder's colours, by rank: 平常, 水防団待機, 氾濫注意, 避難判断, 氾濫危険, 氾濫発生 —
# after the colours Japanese river information uses (white/yellow/red/purple/black), with
# green for normal so a colour-blind reader also gets the text label beside it.
COLOURS = ("#3a9d5d", "#e0c400", "#f08c00", "#d9381e", "#8e3bb8", "#1f1f1f")
W, H, PAD = 480, 240, 36


def colour(rank: int) -> str:
    return COLOURS[max(0, min(rank, len(COLOURS) - 1))]


def _label(iri: str, lang: str) -> str:
    for level in risk_ladder():
        if level.iri == iri:
            return level.label_ja if lang == "ja" else level.label_en
    return iri


def level_label(iri: str | None, lang: str) -> str:
    if iri is None:
        return "平常" if lang == "ja" else "normal"
    return _label(iri, lang)


def legend(lang: str) -> list[tuple[int, str, str]]:
    """(rank, colour, label) for each step of the ladder that is a water level."""
    steps = [(0, colour(0), level_label(None, lang))]
    steps += [
        (lvl.rank, colour(lvl.rank), level_label(lvl.iri, lang))
        for lvl in risk_ladder()
        if not lvl.is_state
    ]
    return steps


def level_chart(station: Station, readings: Sequence[Reading], lang: str) -> str:
    """Water level over time with the station's threshold bands behind it."""
    steps = sorted(
        (
            (lvl.rank, station.thresholds[lvl.iri], lvl.iri)
            for lvl in risk_ladder()
            if lvl.iri in station.thresholds
        ),
    )
    values = [r.value for r in readings]
    top = max([*values, *(s[1] for s in steps), 1.0]) * 1.15
    bottom = min([*values, 0.0])
    span = (top - bottom) or 1.0

    def y(value: float) -> float:
        return PAD + (H - 2 * PAD) * (1 - (value - bottom) / span)

    name = station.name_ja if lang == "ja" else station.name_en
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
        f"aria-label={quoteattr(name)}>",
        f"<title>{escape(name)}</title>",
    ]
    # bands: from each threshold up to the next (or the top)
    edges = [(0, bottom, None), *steps]
    for i, (rank, low, iri) in enumerate(edges):
        high = edges[i + 1][1] if i + 1 < len(edges) else top
        parts.append(
            f'<rect x="{PAD}" y="{y(high):.1f}" width="{W - 2 * PAD}" '
            f'height="{max(0.0, y(low) - y(high)):.1f}" fill="{colour(rank)}" opacity="0.15"/>'
        )
        if iri is not None:
            parts.append(
                f'<line x1="{PAD}" x2="{W - PAD}" y1="{y(low):.1f}" y2="{y(low):.1f}" '
                f'stroke="{colour(rank)}" stroke-dasharray="4 3"/>'
                f'<text x="{W - PAD - 4}" y="{y(low) - 3:.1f}" text-anchor="end" '
                f'font-size="12">{escape(_label(iri, lang))} {low:g} m</text>'
            )
    if readings:
        step = (W - 2 * PAD) / max(1, len(readings) - 1)
        points = " ".join(f"{PAD + i * step:.1f},{y(r.value):.1f}" for i, r in enumerate(readings))
        parts.append(f'<polyline points="{points}" fill="none" stroke="#1b4f9c" stroke-width="2"/>')
        last = readings[-1]
        parts.append(
            f'<circle cx="{PAD + (len(readings) - 1) * step:.1f}" cy="{y(last.value):.1f}" r="4" '
            f'fill="{colour(last.rank)}"/>'
            f'<text x="{PAD}" y="{H - 12}" font-size="12">{escape(readings[0].time)}</text>'
            f'<text x="{W - PAD}" y="{H - 12}" font-size="12" text-anchor="end">'
            f"{escape(last.time)}</text>"
        )
    parts.append(f'<text x="{PAD}" y="{PAD - 12}" font-size="12">{escape(name)} (m)</text></svg>')
    return "".join(parts)


def rain_chart(readings: Sequence[Reading], lang: str) -> str:
    """Rainfall as bars (mm)."""
    label = "雨量 (mm)" if lang == "ja" else "Rainfall (mm)"
    top = max([r.value for r in readings] + [10.0])
    width = (W - 2 * PAD) / max(1, len(readings))
    bars = "".join(
        f'<rect x="{PAD + i * width:.1f}" y="{H - PAD - (H - 2 * PAD) * r.value / top:.1f}" '
        f'width="{max(1.0, width - 1):.1f}" height="{(H - 2 * PAD) * r.value / top:.1f}" '
        f'fill="#4a90d9"><title>{escape(r.time)} {r.value:g} mm</title></rect>'
        for i, r in enumerate(readings)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label={quoteattr(label)}><text x="{PAD}" y="{PAD - 12}" font-size="12">'
        f"{escape(label)}</text>{bars}</svg>"
    )


def basin_map(stations: Mapping[str, Station], latest: Mapping[str, Reading], lang: str) -> str:
    """Each station at its coordinates, coloured by the alert level of its latest reading."""
    placed = [s for s in stations.values() if s.latitude is not None and s.longitude is not None]
    size = 360
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="img" '
        f'aria-label="{"流域の観測所" if lang == "ja" else "Stations of the basin"}">'
        f'<rect width="{size}" height="{size}" fill="#eef4f8"/>'
    ]
    if placed:
        lats = [s.latitude for s in placed if s.latitude is not None]
        lons = [s.longitude for s in placed if s.longitude is not None]
        lat0, lat1, lon0, lon1 = min(lats), max(lats), min(lons), max(lons)
        dlat, dlon = (lat1 - lat0) or 0.01, (lon1 - lon0) or 0.01
        margin = 50

        def xy(s: Station) -> tuple[float, float]:
            assert s.latitude is not None and s.longitude is not None
            x = margin + (size - 2 * margin) * (s.longitude - lon0) / dlon
            yy = margin + (size - 2 * margin) * (1 - (s.latitude - lat0) / dlat)
            return x, yy

        ordered = sorted(placed, key=lambda s: -(s.latitude or 0))  # upstream (north) first
        river = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in map(xy, ordered))
        parts.append(f'<polyline points="{river}" fill="none" stroke="#7fb3d5" stroke-width="6"/>')
        for s in placed:
            x, yy = xy(s)
            reading = latest.get(s.iri)
            rank = reading.rank if reading else 0
            name = s.name_ja if lang == "ja" else s.name_en
            right = x > size / 2  # labels toward the middle, so none is cut at the edge
            parts.append(
                f'<g class="station" data-station={quoteattr(s.iri)} data-rank="{rank}">'
                f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="11" fill="{colour(rank)}" '
                f'stroke="#333"/><text x="{x - 14 if right else x + 14:.1f}" y="{yy + 4:.1f}" '
                f'font-size="14" text-anchor="{"end" if right else "start"}">'
                f"{escape(name)}</text></g>"
            )
    parts.append("</svg>")
    return "".join(parts)
