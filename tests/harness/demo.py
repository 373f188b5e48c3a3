"""``make demo``: from nothing to PNGs made by a generated module on a real InvokeAI.

Starts InvokeAI 6.14.2 with the tiny models (installed under ``~/.cache/ivkgen`` on the first
run), generates the module of ``data/workflows/sd15-text-to-image.json`` into the output folder,
runs it, saves the PNGs beside it, prints where they are and stops the server.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path
from types import ModuleType

from ivkgen.cli.main import main as ivkgen
from ivkgen.runtime import InvokeAIClient

from tests.harness.server import InvokeAIServer

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "data" / "workflows" / "sd15-text-to-image.json"


def load_module(path: Path) -> ModuleType:
    """Import a generated module as ``<its folder>.<module>``, the package ``ivkgen gen`` made."""
    sys.path.insert(0, str(path.parent.parent))
    return importlib.import_module(f"{path.parent.name}.{path.stem}")


def run(out: Path, server: InvokeAIServer) -> list[Path]:
    """Generate the SD1.5 module into ``out``, run it on ``server``, save its PNGs."""
    if ivkgen(["gen", str(WORKFLOW), "-o", str(out)]) != 0:
        raise SystemExit("demo: ivkgen gen failed")
    module = load_module(out / "sd15_text_to_image.py")
    inputs = module.Sd15TextToImageInputs(
        model="tiny-sd15", positive_prompt="a lighthouse at dusk", width=64, height=64, steps=4
    )
    print(f"demo: running {module.Sd15TextToImage.NAME!r} with {inputs!r}", flush=True)
    with InvokeAIClient.from_url(server.url) as client:
        outputs = module.Sd15TextToImage().run(client, inputs, timeout=300)
        return [image.save(out / "images") for image in outputs.decode]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder")
    out = parser.parse_args(argv).out.resolve()
    started = time.monotonic()
    print("demo: starting InvokeAI with the tiny models (the first run installs it)", flush=True)
    server = InvokeAIServer()
    try:
        server.start()
        server.install_tiny_models()
        print(f"demo: InvokeAI is up at {server.url}", flush=True)
        paths = run(out, server)
    finally:
        server.stop()
        server.remove_root()
        print(f"demo: stopped InvokeAI at {server.url}")
    print(f"demo: done in {time.monotonic() - started:.0f} s; the PNGs are in {out / 'images'}:")
    for path in paths:
        print(f"  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
