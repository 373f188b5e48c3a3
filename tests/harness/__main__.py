"""``python -m tests.harness serve`` (``make server``) and ``openapi OUT`` (``make openapi``)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

import httpx

from tests.harness.server import InvokeAIServer


def serve(multiuser: bool) -> None:
    server = InvokeAIServer(multiuser=multiuser).start()
    try:
        if not multiuser:
            server.install_tiny_models()
        print(f"InvokeAI is up at {server.url} (root {server.root}, log {server.log_path})")
        for name, config in sorted(server.models.items()):
            print(f"  model {name}: key {config['key']} ({config['base']} {config['type']})")
        print("Press Ctrl-C to stop.", flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        server.stop()
        server.remove_root()


def capture_openapi(out: Path) -> None:
    server = InvokeAIServer().start()
    try:
        spec = httpx.get(f"{server.url}/openapi.json", timeout=60).raise_for_status().json()
    finally:
        server.stop()
        server.remove_root()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(spec['components']['schemas'])} schemas)")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.harness")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="start InvokeAI with the tiny models")
    serve_cmd.add_argument("--multiuser", action="store_true")
    openapi_cmd = commands.add_parser("openapi", help="capture /openapi.json from the server")
    openapi_cmd.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "serve":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        serve(args.multiuser)
    else:
        capture_openapi(args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
