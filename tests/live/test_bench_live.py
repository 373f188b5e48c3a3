"""The benchmark suite in its smallest configuration, so that it cannot rot: every row filled."""

from __future__ import annotations

import json
import math
from pathlib import Path

from bench.__main__ import TINY, run_suite, write_results

SECTIONS = (
    "1 generation",
    "2 import",
    "3 client CPU",
    "4 per item",
    "5 sweep",
    "6 memory",
    "7 pool",
    "8 serve",
    "9 replicas",
)


def test_the_tiny_benchmark_fills_every_row_and_writes_both_files(
    server_url: str, shared_dir: Path, tmp_path: Path
) -> None:
    rows = run_suite(TINY, server_url, shared_dir / "data" / "workflows")

    assert sorted({row.section for row in rows}) == list(SECTIONS)
    for row in rows:
        assert row.comparison is not None, row.metric
        for figure in (row.ivkgen, row.comparison):
            assert figure.samples and all(math.isfinite(s) for s in figure.samples), row.metric
        assert row.ratio is not None and row.ratio >= 0, row.metric  # 0: an idle time of 0
    per_item = next(row for row in rows if row.section == "4 per item")
    assert len(per_item.ivkgen.samples) == TINY.items
    text = write_results(rows, tmp_path, TINY)
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == len(rows) + 1  # the header, then one line per row
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert [row["metric"] for row in saved["rows"]] == [row.metric for row in rows]
    assert (tmp_path / "bench.md").read_text() == text
