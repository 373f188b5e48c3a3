"""``ivkgen serve``: its options and its entry. Importing this module needs no extra; running
the command without the ``serve`` extra says which one to install."""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import logging
import sys
from pathlib import Path

from ivkgen.service.openai.setup import add_openai_arguments

EXTRA_MODULES = ("fastapi", "uvicorn", "platformdirs")
LOOPBACK_NAMES = ("localhost",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ivkgen serve`` but ``--server`` (the command line's shared option)."""
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="a folder of generated modules, or workflow JSON files (generated on start)",
    )
    parser.add_argument(
        "--workflow",
        metavar="NAME_OR_ID",
        action="append",
        default=[],
        help="also serve a workflow of the first server's library (repeatable)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    for flag, what in (
        ("--set", "WORKFLOW.INPUT=VALUE: change an input's served default"),
        ("--fix", "WORKFLOW.INPUT=VALUE: pin an input, out of the request"),
        ("--limit", "WORKFLOW.INPUT=MIN..MAX: narrow a number's bounds"),
    ):
        parser.add_argument(flag, action="append", default=[], metavar="SPEC", help=what)
    parser.add_argument(
        "--store",
        metavar="FILE_OR_URL",
        help="the sqlite file of runs (default: in the data folder), or postgresql://... "
        "shared by several replicas",
    )
    parser.add_argument(
        "--files", metavar="DIR", help="where run files live (a folder every replica reaches)"
    )
    parser.add_argument(
        "--lease",
        metavar="SECONDS",
        type=float,
        default=15.0,
        help="with a PostgreSQL store: a dead replica's runs are taken over after this (15)",
    )
    parser.add_argument(
        "--keep", metavar="HOURS", type=float, default=24.0, help="keep finished runs (24)"
    )
    parser.add_argument(
        "--max-pending", metavar="N", type=int, default=100, help="unfinished runs at most (100)"
    )
    parser.add_argument(
        "--max-body",
        metavar="MIB",
        type=float,
        default=32.0,
        help="largest request body accepted, in MiB (32); media inputs come in it",
    )
    parser.add_argument(
        "--api-keys", metavar="FILE", help="API keys, one per line (without: loopback only)"
    )
    parser.add_argument(
        "--allow-url-host",
        metavar="HOST",
        action="append",
        default=[],
        help="a host media inputs may be fetched from and webhooks sent to (repeatable)",
    )
    parser.add_argument(
        "--max-media", metavar="MIB", type=float, default=20.0, help="largest media input (20)"
    )
    parser.add_argument(
        "--webhook-secret",
        metavar="SECRET",
        help="the key webhooks and links to output files are signed with (whsec_... or base64; "
        "default: one kept beside the store)",
    )
    add_openai_arguments(parser)


def _missing_extra() -> str | None:
    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    return ", ".join(missing) if missing else None


def _loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _store(given: str | None, data: Path) -> Path | str:
    """``--store``: a PostgreSQL URL as given, else the sqlite file."""
    if given and given.startswith(("postgresql://", "postgres://")):
        return given
    return Path(given) if given else data / "serve.sqlite3"


def run(args: argparse.Namespace) -> int:
    """Start the service; returns the exit code."""
    missing = _missing_extra()
    if missing:
        print(
            f"ivkgen: error: `ivkgen serve` needs the serve extra ({missing} missing): "
            "pip install 'ivkgen[serve]'",
            file=sys.stderr,
        )
        return 1
    import platformdirs
    import uvicorn
    from ivkgen.runtime._errors import ServeSetupError
    from ivkgen.service.app import create_app
    from ivkgen.service.auth import ApiKeys
    from ivkgen.service.catalog import load_catalog
    from ivkgen.service.config import ServiceConfig, anyone
    from ivkgen.service.openai.routes import install_openai
    from ivkgen.service.openai.setup import openai_bindings
    from ivkgen.service.outbound import UrlPolicy
    from ivkgen.service.webhooks import secret_from

    if not args.api_keys and not _loopback(args.host):
        raise ServeSetupError(
            f"--host {args.host}: without --api-keys the service binds to loopback only "
            "(give --api-keys FILE to serve other hosts)"
        )
    data = Path(platformdirs.user_data_dir("ivkgen"))
    catalog = load_catalog(
        [Path(p) for p in args.paths],
        library=args.workflow,
        server=args.server[0],
        cache=Path(platformdirs.user_cache_dir("ivkgen")) / "serve",
        sets=args.set,
        fixes=args.fix,
        limits=args.limit,
    )
    store = _store(args.store, data)
    files = Path(args.files) if args.files else None
    beside = store if isinstance(store, Path) else (files or data) / "serve"
    """The webhook secret's file: beside the sqlite file, or in the folder replicas share."""
    keys = ApiKeys.from_file(Path(args.api_keys)) if args.api_keys else None
    media_bytes = int(args.max_media * 1024 * 1024)
    config = ServiceConfig(
        catalog=catalog,
        servers=args.server,
        store=store,
        files=files,
        lease=args.lease,
        keep_hours=args.keep,
        max_pending=args.max_pending,
        max_body_bytes=int(args.max_body * 1024 * 1024),
        owner=keys.owner if keys is not None else anyone,
        urls=UrlPolicy(frozenset(args.allow_url_host), media_bytes),
        webhook_secret=secret_from(args.webhook_secret, beside.with_name(beside.name + ".whsec")),
    )
    bindings = openai_bindings(catalog, args)
    if args.explain_bindings:
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
    base = f"http://{args.host}:{args.port}"
    print(
        f"ivkgen serve: {len(catalog)} workflow(s) ({', '.join(catalog)}) on "
        f"{', '.join(args.server)}\n  API:  {base}/v1/workflows\n  docs: {base}/docs",
        flush=True,
    )
    app = create_app(config)
    install_openai(app, bindings)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        timeout_graceful_shutdown=5,
    )
    return 0


__all__ = ["add_arguments", "run"]
