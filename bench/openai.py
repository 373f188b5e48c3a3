"""The OpenAI route's row: the time ``POST /v1/images/generations`` adds over the typed route
(``POST /v1/workflows/{name}/runs`` with ``Prefer: wait``) for the same workflow, on the same
server, timed in pairs as the service's rows are (see ``bench.pairs``)."""

from __future__ import annotations

import asyncio
import tempfile
from functools import partial
from pathlib import Path

import httpx
from ivkgen.runtime import AsyncInvokeAIClient

from bench.pairs import Timed, added_ms, paired
from bench.serve import cleaned_up
from bench.stats import Figure, Row

SECTION = "8 serve"
WORKFLOW = Path(__file__).resolve().parents[1] / "tests" / "openai_workflows" / "prompt-canvas.json"


async def _times(url: str, runs: int) -> tuple[Timed, Timed]:
    """Each image through the typed route, and through the OpenAI route."""
    from ivkgen.service.app import create_app
    from ivkgen.service.catalog import load_catalog
    from ivkgen.service.config import ServiceConfig
    from ivkgen.service.openai.binding import bindings_for
    from ivkgen.service.openai.routes import install_openai

    with tempfile.TemporaryDirectory(prefix="ivkgen-bench-openai-") as scratch:
        catalog = load_catalog([WORKFLOW], cache=Path(scratch))
        app = create_app(ServiceConfig(catalog=catalog, servers=[url]))
        install_openai(app, bindings_for(catalog)[0])
        transport = httpx.ASGITransport(app=app)
        http = httpx.AsyncClient(transport=transport, base_url="http://service", timeout=120)
        client = AsyncInvokeAIClient.from_url(url)

        async def typed(number: int) -> None:
            body = {"prompt": f"canvas {number}", "width": 32, "height": 32}
            answer = await http.post(
                "/v1/workflows/prompt_canvas/runs", json=body, headers={"Prefer": "wait=60"}
            )
            assert answer.json()["status"] == "completed", answer.text

        async def openai(number: int) -> None:
            body = {"model": "prompt_canvas", "prompt": f"canvas {number}", "size": "32x32"}
            answer = await http.post("/v1/images/generations", json=body)
            assert answer.status_code == 200, answer.text

        async with app.router.lifespan_context(app), http, client:
            return await paired(client, runs, typed, openai, partial(cleaned_up, app))


def openai_rows(url: str, runs: int = 30) -> list[Row]:
    typed, openai = asyncio.run(_times(url, runs))
    added = added_ms(openai.outside, typed.outside)
    wall = added_ms(openai.wall, typed.wall)
    return [
        Row(
            SECTION,
            f"ms an image takes outside InvokeAI's time for its item, POST "
            f"/v1/images/generations, prompt-canvas ({runs})",
            Figure(tuple(s * 1000 for s in openai.outside), "ms"),
            "typed route, Prefer: wait",
            Figure(tuple(s * 1000 for s in typed.outside), "ms"),
            "added <= 5 ms (median)",
            added <= 5,
            notes=f"added {added:.1f} ms: the median of each pair's difference (the routes "
            f"alternate); in wall time {wall:+.1f} ms",
        )
    ]
