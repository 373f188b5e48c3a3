"""The command docs/replicas.md gives every replica is one ``ivkgen serve`` takes as written."""

from __future__ import annotations

import re
import shlex

from ivkgen.cli.main import build_parser

from tests.conftest import REPO


def test_the_replicas_page_command_parses_to_the_settings_it_describes() -> None:
    page = (REPO / "docs" / "replicas.md").read_text()
    blocks = re.findall(r"^```sh\n(.*?)^```$", page, re.M | re.S)
    assert len(blocks) == 1
    argv = shlex.split(blocks[0].replace("\\\n", " "))
    assert argv[:2] == ["ivkgen", "serve"]
    args = build_parser().parse_args(argv[1:])
    assert args.server == ["http://gpu-1:9090", "http://gpu-2:9090"]
    assert args.store == "postgresql://ivkgen:secret@db.internal:5432/ivkgen"
    assert (args.files, args.lease, args.host, args.port) == (
        "/mnt/ivkgen-files",
        15.0,
        "0.0.0.0",
        8000,
    )
    assert args.paths == ["workflows/"] and args.api_keys == "/etc/ivkgen/keys"
