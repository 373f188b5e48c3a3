"""A catalog generated from a live server's /openapi.json loads in the runtime."""

from __future__ import annotations

from pathlib import Path

from ivkgen.cli.main import main
from ivkgen.runtime._workflow.catalog import Catalog, default_catalog


def test_fields_from_a_live_server_give_the_bundled_catalog(
    server_url: str, tmp_path: Path
) -> None:
    assert main(["fields", "--server", server_url, "-o", str(tmp_path)]) == 0
    catalog = Catalog.from_dir(tmp_path)
    bundled = default_catalog()
    assert catalog.invokeai_version == "6.14.2"
    assert catalog.nodes == bundled.nodes
    field = catalog.input_field("img_resize", "width", 64)
    assert type(field).__name__ == "IvkIntegerField" and field.to_json_dict() == 64
