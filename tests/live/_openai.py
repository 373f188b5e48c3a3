"""A live service with the OpenAI routes, on a loopback port for the ``openai`` client: uvicorn
in a thread of this process, serving ``generated/`` and the hand-made OpenAI workflows."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import uvicorn
from ivkgen.service.app import create_app
from ivkgen.service.catalog import load_catalog
from ivkgen.service.config import ServiceConfig
from ivkgen.service.openai.binding import bindings_for
from ivkgen.service.openai.routes import install_openai

from tests.conftest import REPO
from tests.live._serve_process import free_port
from tests.unit._openai import HAND_MADE, LIMITS


@contextlib.contextmanager
def openai_service(
    servers: Sequence[str], folder: Path, sd15_model: dict[str, Any] | None = None, **options: Any
) -> Iterator[str]:
    """The base URL (``.../v1``) of a service on ``servers`` with the OpenAI routes; with
    ``sd15_model`` (a model identifier) the SD1.5 workflow's served model, at 2 steps."""
    paths = [REPO / "generated", *sorted(HAND_MADE.glob("*.json"))]
    sets = ["sd15_text_to_image.steps=2"]
    if sd15_model is not None:
        sets.append(f"sd15_text_to_image.model={json.dumps(sd15_model)}")
    catalog = load_catalog(paths, cache=folder / "cache", sets=sets, limits=LIMITS)
    config = ServiceConfig(
        catalog=catalog,
        servers=list(servers),
        store=folder / "store.sqlite3",
        poll_interval=0.1,
        **options,
    )
    app = create_app(config)
    install_openai(app, bindings_for(catalog)[0])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join()
