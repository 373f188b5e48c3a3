"""What the examples share: the command line (server URL, model, size) and the model lookup.

Every example takes the server URL from ``--server URL``, else ``$IVKGEN_SERVER``, else
``http://127.0.0.1:9090``. The defaults (model ``tiny-sd15``, 64 px, 4 steps) fit the test server
of ``make server``; on your own server pass e.g. ``--model "Dreamshaper 8" --size 512 --steps 25``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from ivkgen.runtime import InvokeAIClient, IvkgenError, ModelConfig

REPO = Path(__file__).resolve().parent.parent
SD15 = REPO / "data" / "workflows" / "sd15-text-to-image.json"
DEFAULT_SERVER = "http://127.0.0.1:9090"


def parser(description: str | None) -> argparse.ArgumentParser:
    """The options every example understands."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--server",
        default=os.environ.get("IVKGEN_SERVER", DEFAULT_SERVER),
        help="InvokeAI URL (default: $IVKGEN_SERVER, else %(default)s)",
    )
    parser.add_argument("--model", default="tiny-sd15", help="an installed SD1.5 main model")
    parser.add_argument("--size", type=int, default=64, help="width and height in pixels")
    parser.add_argument("--steps", type=int, default=4, help="denoising steps")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for a job")
    return parser


def find_model(client: InvokeAIClient, name: str) -> ModelConfig:
    """The installed model called ``name``; exits with the installed names if there is none."""
    found = client.model_repo.find_models(name=name)
    if not found:
        installed = sorted(m.name for m in client.model_repo.list_models())
        sys.exit(f"error: no model named {name!r} on {client.base_url}; installed: {installed}")
    return found[0]


def main(run: Callable[[], None]) -> None:
    """Run an example; an ivkgen or validation error ends it with its message, no traceback."""
    try:
        run()
    except (IvkgenError, ValueError) as exc:
        sys.exit(f"error: {exc}")
