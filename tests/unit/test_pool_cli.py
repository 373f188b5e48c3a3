"""``ivkgen run`` over a pool without a server: sweep parsing, the progress line, bad options,
which values made which file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from ivkgen.cli.errors import CommandError
from ivkgen.cli.main import main
from ivkgen.cli.pool_progress import PoolDisplay, describe
from ivkgen.cli.pool_run import parse_sweeps
from ivkgen.cli.sweep_files import print_files, record_sweep, sweep_files
from ivkgen.cli.workflow_inputs import load_handle
from ivkgen.runtime._pool.outcome import ItemResult
from ivkgen.runtime._pool.progress import PoolProgress, ServerProgress
from ivkgen.runtime._pool.work import grid_work

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


def test_resume_needs_a_ledger_and_says_so_with_the_run_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", str(PROMPT), "--server", "http://127.0.0.1:9", "--resume"])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.startswith("usage: ivkgen run ")
    assert err.splitlines()[-1] == (
        "ivkgen run: error: --resume continues the run recorded by --ledger FILE: give both"
    )


def test_a_sweep_says_which_values_made_each_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handle = load_handle(PROMPT)
    work = grid_work(handle, parse_sweeps(handle, ["Base Size=8,16", "subject=fox,owl cat"]))
    results = [
        ItemResult(index, "http://a", 10 + index, "completed", files=[tmp_path / f"{index}.png"])
        for index in range(work.count)
    ]
    files = sweep_files(work, handle, results)
    print_files(files)
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path / '0.png'}\tbase_size=8 subject=fox",
        f"{tmp_path / '1.png'}\tbase_size=8 subject=owl cat",
        f"{tmp_path / '2.png'}\tbase_size=16 subject=fox",
        f"{tmp_path / '3.png'}\tbase_size=16 subject=owl cat",
    ]
    manifest = record_sweep(tmp_path, files[:3])
    record_sweep(tmp_path, files[2:])  # a second sweep into the folder adds its files
    assert manifest == tmp_path / "ivkgen-sweep.json"
    assert json.loads(manifest.read_text("utf-8"))["files"] == [
        {"file": "0.png", "inputs": {"base_size": 8, "subject": "fox"}},
        {"file": "1.png", "inputs": {"base_size": 8, "subject": "owl cat"}},
        {"file": "2.png", "inputs": {"base_size": 16, "subject": "fox"}},
        {"file": "3.png", "inputs": {"base_size": 16, "subject": "owl cat"}},
    ]
