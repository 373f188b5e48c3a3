"""``ivkgen run`` over a pool without a server: sweep parsing, the progress line, bad options."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from ivkgen.cli.main import main
from ivkgen.cli.errors import CommandError
from ivkgen.cli.workflow_inputs import load_handle
from ivkgen.cli.pool_run import parse_sweeps
from ivkgen.cli.pool_progress import PoolDisplay, describe
from ivkgen.runtime.pool import PoolProgress, ServerProgress

PROMPT = Path(__file__).resolve().parents[2] / "data" / "workflows" / "prompt-arithmetic.json"


def test_sweeps_name_inputs_by_name_or_label_and_reject_bad_ones() -> None:
    handle = load_handle(PROMPT)
    assert parse_sweeps(handle, ["Base Size=8, 16,24", "subject=a,b"]) == {
        3: ["8", "16", "24"],
        1: ["a", "b"],
    }
    with pytest.raises(CommandError, match="swept twice"):
        parse_sweeps(handle, ["Scale=1", "scale=2"])
    with pytest.raises(CommandError, match="give values"):
        parse_sweeps(handle, ["Scale=,"])
    with pytest.raises(CommandError, match="expected NAME=VALUE"):
        parse_sweeps(handle, ["Scale"])


def _progress(done: int) -> PoolProgress:
    return PoolProgress(
        total=10,
        done=done,
        failed=1,
        waiting=2,
        servers=[
            ServerProgress("http://127.0.0.1:9090", done, 1, 2, None),
            ServerProgress("http://127.0.0.1:9091", 0, 0, 0, "connection refused"),
        ],
        eta_seconds=75,
    )


def test_the_progress_line_shows_each_server_and_the_time_left() -> None:
    assert describe(_progress(4)) == (
        "4/10 done, 1 failed | 127.0.0.1:9090 4 done 1 running 2 queued | "
        "127.0.0.1:9091 dropped after 0 done | ETA 1m15s"
    )
    stream = io.StringIO()
    display = PoolDisplay(stream, tty=False, every=0, clock=lambda: 0.0)
    for done in (4, 4, 5):
        display(_progress(done))
    display.close()
    assert [line.split(" |")[0] for line in stream.getvalue().splitlines()] == [
        "4/10 done, 1 failed",
        "5/10 done, 1 failed",
    ]


def test_resume_needs_a_ledger_and_says_so_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(PROMPT), "--server", "http://127.0.0.1:9", "--resume"])
    err = capsys.readouterr().err
    assert code == 1
    assert (
        err.strip().splitlines()
        == ["ivkgen: error: --resume continues the run recorded by --ledger FILE: give both"]
        or "--resume continues the run recorded by --ledger FILE" in err
    )
    assert "Traceback" not in err
