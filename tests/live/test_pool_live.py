"""The server pool against two real servers: a sweep spread over both, one server killed
mid-sweep, and a run resumed after its client was killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from ivkgen.runtime import InvokeAIClient, WorkflowDefinition, WorkflowHandle
from ivkgen.runtime._pool.pool import ServerPool
from ivkgen.runtime._pool.progress import PoolProgress
from ivkgen.runtime._pool.work import grid_work, run_tag
from PIL import Image

from tests.conftest import REPO
from tests.harness.server import InvokeAIServer
from tests.unit._workflows import field, node, workflow

WORKFLOW = REPO / "data" / "workflows" / "prompt-arithmetic.json"
BASE_SIZE = "integer:0cZuzren68"


@pytest.fixture(scope="module")
def spare() -> Iterator[InvokeAIServer]:
    """A second server (model-free workflows need no models); the last test kills it."""
    server = InvokeAIServer().start()
    try:
        yield server
    finally:
        server.stop()
        server.remove_root()


def _sizes(first: int, count: int) -> list[int]:
    """Canvas sizes no other test uses: the server's node cache would otherwise hand back an
    image another session made."""
    return list(range(first, first + count))


def _completed_sizes(urls: list[str], run_id: str) -> Counter[int]:
    """How many times each size completed on these servers, read from their queues."""
    ran: Counter[int] = Counter()
    for url in urls:
        with InvokeAIClient.from_url(url) as client:
            for item in client.queue_repo.list_all_items(destination=run_tag(run_id)):
                if item.status == "completed":
                    ran[int(item.session["graph"]["nodes"][BASE_SIZE]["value"])] += 1
    return ran


def _left_over(url: str, run_id: str, images: list[str]) -> tuple[int, list[str]]:
    with InvokeAIClient.from_url(url) as client:
        items = client.queue_repo.list_all_items(destination=run_tag(run_id))
        names = {i.image_name for i in client.image_repo.list_images(limit=1000).items}
    return len(items), sorted(set(images) & names)


def test_a_sweep_is_spread_over_both_servers_and_cleaned_up(
    server_url: str, spare: InvokeAIServer, tmp_path: Path
) -> None:
    urls = [server_url, spare.url]
    handle = WorkflowHandle(WorkflowDefinition.from_file(WORKFLOW))
    with ServerPool(urls, window=2) as pool:
        results = pool.run(
            grid_work(handle, {"Base Size": _sizes(200, 12)}), download_to=tmp_path / "out"
        )
        assert pool.last_run is not None
        run_id = pool.last_run.run_id

        assert [r.index for r in results] == list(range(12))
        assert {r.server for r in results} == set(urls)  # every server ran items
        assert _completed_sizes(urls, run_id) == Counter(_sizes(200, 12))
        assert sorted(p.name for r in results for p in r.files) == sorted(
            os.listdir(tmp_path / "out")
        )
        assert all(len(r.files) == 1 and r.files[0].stat().st_size > 0 for r in results)
        pool.cleanup_outputs()
    for url in urls:
        mine = [name for r in results if r.server == url for name in r.created]
        assert _left_over(url, run_id, mine) == (0, [])


def test_a_run_resumes_after_its_client_was_killed_and_runs_nothing_twice(
    server_url: str, spare: InvokeAIServer, tmp_path: Path
) -> None:
    ledger, out = tmp_path / "run.sqlite", tmp_path / "out"
    values = ",".join(map(str, _sizes(300, 30)))
    command = [
        sys.executable, "-m", "ivkgen.cli", "run", str(WORKFLOW),
        "--server", server_url, "--server", spare.url,
        "--sweep", f"Base Size={values}", "--ledger", str(ledger), "--out", str(out),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if ledger.is_file() and _count(ledger, "completed") >= 4:
            break
        time.sleep(0.05)
    assert process.poll() is None, process.communicate()[1].decode()[-2000:]
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    before = _count(ledger, "completed")
    assert 4 <= before < 30
    files_before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    done = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert _count(ledger, "completed") == 30
    run_id = _run_id(ledger)
    assert _completed_sizes([server_url, spare.url], run_id) == Counter(_sizes(300, 30))
    assert len(list(out.glob("*.png"))) == 30
    assert {n: (out / n).stat().st_mtime_ns for n in files_before} == files_before
    printed = [line.split("\t") for line in done.stdout.splitlines()]  # the whole run
    assert sorted(path for path, _ in printed) == sorted(str(p) for p in out.glob("*.png"))
    assert Counter(int(values.removeprefix("base_size=")) for _, values in printed) == Counter(
        _sizes(300, 30)
    )
    manifest = json.loads((out / "ivkgen-sweep.json").read_text("utf-8"))["files"]
    assert {e["file"]: e["inputs"] for e in manifest} == {
        Path(path).name: {"base_size": int(values.removeprefix("base_size="))}
        for path, values in printed
    }


def _image_names(url: str) -> set[str]:
    with InvokeAIClient.from_url(url) as client:
        return {i.image_name for i in client.image_repo.list_images(limit=1000).items}


def test_a_sweep_over_local_images_gives_each_item_its_own_upload_on_its_server(
    server_url: str, spare: InvokeAIServer, tmp_path: Path
) -> None:
    sizes = [(40 + 8 * k, 24 + 4 * k) for k in range(6)]
    photos = [tmp_path / f"photo-{k}.png" for k in range(len(sizes))]
    for photo, size in zip(photos, sizes, strict=True):
        Image.new("RGB", size, (20 * len(photo.name), 90, 160)).save(photo)
    blur = node("blur", "img_blur", radius=1.0, is_intermediate=False, use_cache=False)
    blur["data"]["inputs"]["image"] = field("image")
    source = tmp_path / "blur.json"
    source.write_text(json.dumps(workflow([blur], exposed=[("blur", "image")])), "utf-8")
    urls = [server_url, spare.url]
    before = {url: _image_names(url) for url in urls}
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "ivkgen.cli", "run", str(source),
        "--server", server_url, "--server", spare.url,
        "--sweep", f"Image={','.join(map(str, photos))}", "--out", str(out),
    ]  # fmt: skip

    done = subprocess.run(command, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr[-2000:]
    assert "6 item(s) completed on 2 server(s)" in done.stderr
    saved = sorted(out.glob("*.png"))
    assert sorted(Image.open(p).size for p in saved) == sizes  # each item blurred its own photo
    manifest = json.loads((out / "ivkgen-sweep.json").read_text("utf-8"))["files"]
    made_from = {e["file"]: Path(e["inputs"]["image"]) for e in manifest}
    assert {p.name: Image.open(p).size for p in saved} == {
        name: Image.open(photo).size for name, photo in made_from.items()
    }  # each file names the photo it was made from
    names = {p.name for p in saved}
    for url in urls:  # each server holds what it had and the outputs it made: no upload is left
        made = _image_names(url) - before[url]
        assert made and made <= names


def test_a_server_killed_mid_sweep_loses_nothing_and_runs_nothing_twice(
    server_url: str, spare: InvokeAIServer, tmp_path: Path
) -> None:
    urls = [server_url, spare.url]
    handle = WorkflowHandle(WorkflowDefinition.from_file(WORKFLOW))

    def kill_spare(progress: PoolProgress) -> None:
        if progress.done >= 4 and spare.process is not None and spare.process.poll() is None:
            os.killpg(spare.process.pid, signal.SIGKILL)
            spare.process.wait(timeout=10)

    with ServerPool(urls, window=3) as pool:
        results = pool.run(
            grid_work(handle, {"Base Size": _sizes(400, 24)}),
            download_to=tmp_path / "out",
            on_progress=kill_spare,
        )
        assert pool.last_run is not None
        run_id = pool.last_run.run_id
        assert pool.last_run.scheduler.slots[spare.url].dropped

        assert [r.status for r in results] == ["completed"] * 24
        on_survivor = _completed_sizes([server_url], run_id)
        on_spare = {400 + r.index for r in results if r.server == spare.url}
        assert on_spare and max(on_survivor.values()) == 1
        assert set(on_survivor) | on_spare == set(_sizes(400, 24))
        assert not set(on_survivor) & on_spare
        assert len(os.listdir(tmp_path / "out")) == 24
        pool.cleanup_outputs()
    mine = [name for r in results if r.server == server_url for name in r.created]
    assert _left_over(server_url, run_id, mine) == (0, [])


def _count(ledger: Path, status: str) -> int:
    with sqlite3.connect(ledger) as db:
        row = db.execute("SELECT COUNT(*) FROM items WHERE status=?", (status,)).fetchone()
    return int(row[0])


def _run_id(ledger: Path) -> str:
    with sqlite3.connect(ledger) as db:
        return str(db.execute("SELECT value FROM run WHERE key='run_id'").fetchone()[0])
