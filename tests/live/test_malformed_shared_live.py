"""The mutations of ``tests/unit/test_malformed_workflows.py`` on the shared GUI exports: only
ivkgen's own errors come out, from loading through the enqueue body and the typed module."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_malformed_workflows import check_mutations


def test_mutated_gui_exports_give_only_ivkgen_errors(
    shared_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    check_mutations(sorted((shared_dir / "data" / "workflows").glob("*.json")), tmp_path_factory)
