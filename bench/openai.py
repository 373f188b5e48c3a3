"""The OpenAI route's row: the time ``POST /v1/images/generations`` adds over the typed route
(``POST /v1/workflows/{name}/runs`` with ``Prefer: wait``) for the same workflow and values, on
the same server, the two interleaved."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.stats import Figure, Row

SECTION = "8 serve"
WORKFLOW = Path(__file__).resolve().parents[1] / "tests" / "openai_workflows" / "prompt-canvas.json"


async def _times(url: str, runs: int) -> tuple[list[float], list[float]]:
    """Wall seconds per image: through the OpenAI route, and through the typed route."""
    from ivkgen.service.app import create_app
    from ivkgen.service.catalog import load_catalog
    from ivkgen.service.config import ServiceConfig
    from ivkgen.service.openai.binding import bindings_for
    from ivkgen.service.openai.routes import install_openai

    openai: list[float] = []
    typed: list[float] = []
    with tempfile.TemporaryDirectory(prefix="ivkgen-bench-openai-") as scratch:
        catalog = load_catalog([WORKFLOW], cache=Path(scratch))
        app = create_app(ServiceConfig(catalog=catalog, servers=[url]))
        install_openai(app, bindings_for(catalog)[0])
        transport = httpx.ASGITransport(app=app)
        http = httpx.AsyncClient(transport=transport, base_url="http://service", timeout=120)
        async with app.router.lifespan_context(app), http:
            for index in range(runs + 1):
                prompt, width = f"canvas {index}", 32 + index % 8
                started = time.perf_counter()
                answer = await http.post(
                    "/v1/workflows/prompt_canvas/runs",
                    json={"prompt": prompt, "width": width, "height": 32},
                    headers={"Prefer": "wait=60"},
                )
                assert answer.json()["status"] == "completed", answer.text
                typed.append(time.perf_counter() - started)
                started = time.perf_counter()
                body = {"model": "prompt_canvas", "prompt": prompt, "size": f"{width}x32"}
                answer = await http.post("/v1/images/generations", json=body)
                assert answer.status_code == 200, answer.text
                openai.append(time.perf_counter() - started)
    return openai[1:], typed[1:]  # the first of each warms up


def openai_rows(url: str, runs: int = 30) -> list[Row]:
    openai, typed = asyncio.run(_times(url, runs))
    added_ms = (statistics.median(openai) - statistics.median(typed)) * 1000
    return [
        Row(
            SECTION,
            f"ms an image takes, POST /v1/images/generations, prompt-canvas ({runs})",
            Figure(tuple(s * 1000 for s in openai), "ms"),
            "typed route, Prefer: wait",
            Figure(tuple(s * 1000 for s in typed), "ms"),
            "added <= 5 ms (median)",
            added_ms <= 5,
            notes=f"added {added_ms:.1f} ms at the median; same workflow and values, interleaved",
        )
    ]
