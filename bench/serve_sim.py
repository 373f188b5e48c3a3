"""``ivkgen serve`` on simulated InvokeAI servers, in its own process for the service rows:
``python bench/serve_sim.py PORT SERVERS`` serves ``generated/`` on ``SERVERS`` simulated
servers whose items take an hour (runs stay pending), until SIGTERM."""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import uvicorn  # noqa: E402
from ivkgen.runtime._client import AsyncInvokeAIClient  # noqa: E402
from ivkgen.service.app import create_app  # noqa: E402
from ivkgen.service.catalog import load_catalog  # noqa: E402
from ivkgen.service.config import ServiceConfig  # noqa: E402

from tests.harness.fake_invokeai import FakeInvokeAI  # noqa: E402

ITEM_SECONDS = 3600.0


def main(port: int, servers: int) -> None:
    fakes = [FakeInvokeAI(f"s{i}", time.monotonic, duration=ITEM_SECONDS) for i in range(servers)]
    clients = {
        f"http://{f.name}.test": AsyncInvokeAIClient.from_url(
            f"http://{f.name}.test", transport=f.transport()
        )
        for f in fakes
    }
    catalog = load_catalog([HERE.parent / "generated"], cache=Path("/tmp/ivkgen-bench-serve"))
    config = ServiceConfig(catalog=catalog, servers=list(clients), max_pending=10**9)
    app = create_app(config, clients=clients)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
