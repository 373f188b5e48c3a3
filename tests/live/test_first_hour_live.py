"""The rough edges of a first hour, against the real server: a server URL with a path that is
not InvokeAI's API is one line naming the URL to use, from the Python API and the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ivkgen.runtime import InvokeAIClient
from ivkgen.runtime._errors import ServerURLError

from tests.conftest import REPO

BIN = Path(sys.executable).parent
WORKFLOW = REPO / "data" / "workflows" / "prompt-arithmetic.json"


def test_a_url_whose_path_is_not_the_api_names_the_root_url(server_url: str) -> None:
    with (
        InvokeAIClient.from_url(f"{server_url}/api") as client,
        pytest.raises(ServerURLError) as caught,
    ):
        client.get_version()
    assert str(caught.value).endswith(
        f"not InvokeAI's API; use the server's root URL, {server_url}"
    )


@pytest.mark.parametrize("command", ["check", "run"])
def test_the_command_line_says_the_same_in_one_line(command: str, server_url: str) -> None:
    done = subprocess.run(
        [str(BIN / "ivkgen"), command, str(WORKFLOW), "--server", f"{server_url}/api"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    line = done.stderr.splitlines()[-1]  # run warns first that the event socket is not there
    assert line.startswith("ivkgen: error: ")
    assert line.endswith(f"not InvokeAI's API; use the server's root URL, {server_url}")
