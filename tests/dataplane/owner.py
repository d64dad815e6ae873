"""The data owner's own system, for tests: a small HTTP API on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

API_KEY = "owner-secret-key"


def owner_app(state: dict[str, Any]) -> FastAPI:
    """`state["released"]` ends what would otherwise never end: set it before stopping."""
    app = FastAPI()
    released: asyncio.Event = state.setdefault("released", asyncio.Event())

    @app.get("/api/levels")
    async def levels(request: Request, x_api_key: str = Header("")) -> Response:
        state.setdefault("seen", []).append(dict(request.headers))
        if x_api_key != API_KEY:
            return JSONResponse({"detail": "no key"}, status_code=401)
        return JSONResponse(
            {
                "station": request.query_params.get("station", "all"),
                "level_m": state.get("level", 1.42),
            }
        )

    @app.get("/api/stations/{station}")
    async def station(station: str, x_api_key: str = Header("")) -> Response:
        if x_api_key != API_KEY:
            return JSONResponse({"detail": "no key"}, status_code=401)
        if station == "missing":
            return JSONResponse({"detail": "no station"}, status_code=404)
        return JSONResponse({"station": station})

    @app.get("/api/private/{rest:path}")
    async def private(rest: str) -> Response:
        return JSONResponse({"private": rest})

    @app.get("/api/slow")
    async def slow() -> Response:
        await released.wait()  # no answer while the test runs, however long it takes
        return JSONResponse({"late": True})

    @app.get("/api/broken")
    async def broken() -> Response:
        return JSONResponse({"detail": "owner bug"}, status_code=500)

    @app.get("/api/trickle")
    async def trickle() -> Response:
        """1 KiB every 20 ms without end: only a cut ends the read."""

        async def chunks() -> AsyncIterator[bytes]:
            while not released.is_set():
                yield b"x" * 1024
                await asyncio.sleep(0.02)

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    @app.get("/api/slow-once")
    async def slow_once() -> Response:
        """Without end the first time (1 KiB every 20 ms), then the whole CSV at once: a push
        cut during the first read and resumed gets the quick one."""
        state["slow_once_reads"] = state.get("slow_once_reads", 0) + 1
        if state["slow_once_reads"] > 1:
            return Response(SLOW_ONCE_CSV, media_type="text/csv")

        async def chunks() -> AsyncIterator[bytes]:
            try:
                yield b"station,level_m\n"
                while not released.is_set():
                    yield b"x" * 1024
                    await asyncio.sleep(0.02)
            finally:
                state["slow_once_closed"] = True  # the provider let go of the upstream read

        return StreamingResponse(chunks(), media_type="text/csv")

    return app


SLOW_ONCE_CSV = ("station,level_m\n" + "上流,1.42\n" * 20_000).encode()
