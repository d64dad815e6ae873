"""The flood dashboard: stations, water levels on their threshold bands, rainfall, live."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from connector.console import charts
from connector.console.web import (
    console_of,
    lang_of,
    render,
    router,
    secured,
    session_of,
    to_login,
)

# -- the flood dashboard ------------------------------------------------------------------------


@router.get("/river")
async def river(request: Request) -> Response:
    session = await session_of(request)
    if session is None:
        return to_login(request)
    console = console_of(request)
    watch = console.river
    lang = lang_of(request, console)
    latest = watch.latest()
    rain = watch.latest_rain()
    return render(
        request,
        "river.html",
        session=session,
        stations=list(watch.stations.values()),
        latest=latest,
        rain=rain,
        problems=watch.problems,
        feeds=watch.feeds,
        map_svg=charts.basin_map(watch.stations, latest, lang),
        legend=charts.legend(lang),
    )


@router.get("/river/chart.svg")
async def river_chart(request: Request) -> Response:
    session = await session_of(request)
    if session is None:
        return secured(Response(status_code=401))
    console = console_of(request)
    watch = console.river
    lang = lang_of(request, console)
    iri = request.query_params.get("station", "")
    if request.query_params.get("kind") == "rain":
        svg = charts.rain_chart(list(watch.rain.get(iri, [])), lang)
    else:
        station = watch.stations.get(iri)
        if station is None:
            return secured(Response(status_code=404))
        svg = charts.level_chart(station, list(watch.water.get(iri, [])), lang)
    return secured(Response(svg, media_type="image/svg+xml"))


@router.get("/river/events")
async def river_events(request: Request) -> Response:
    """Server-sent events: one per new reading, as JSON with the colour of its level."""
    session = await session_of(request)
    if session is None:
        return secured(Response(status_code=401))
    watch = console_of(request).river
    lang = lang_of(request, console_of(request))

    async def events() -> AsyncIterator[bytes]:
        async with watch.listen() as queue:
            yield b": connected\n\n"
            while True:
                try:
                    reading = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield b": keep-alive\n\n"
                    continue
                data = reading.json() | {
                    "colour": charts.colour(reading.rank),
                    "label": charts.level_label(reading.level, lang),
                }
                yield f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()

    response = StreamingResponse(events(), media_type="text/event-stream")
    response.headers["X-Accel-Buffering"] = "no"
    return secured(response)
