"""Loading OpenAPI files, bad input, type parsing and the ``ivkgen fields`` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ivkgen.cli.main import main
from ivkgen.generator.openapi import OpenAPIError, load_file
from ivkgen.runtime._workflow.schema import parse_property

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "data" / "openapi" / "invokeai-6.14.2.json"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not JSON"),
        (b'{"swagger": "2.0"}', "not an OpenAPI document"),
        (b'{"openapi": "3.1.0", "components": {"schemas": {"A": {}}}}', "no InvokeAI invocation"),
    ],
)
def test_bad_openapi_gives_one_clear_error_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    bad = tmp_path / "invokeai-1.0.json"
    bad.write_bytes(content)
    out = tmp_path / "out"
    with pytest.raises(OpenAPIError, match=message):
        load_file(bad)
    assert main(["fields", "--openapi", str(bad), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not out.exists()


def test_missing_file_and_unknown_version(tmp_path: Path) -> None:
    with pytest.raises(OpenAPIError, match="cannot read"):
        load_file(tmp_path / "invokeai-6.14.2.json")
    renamed = tmp_path / "schema.json"
    renamed.write_bytes(SPEC.read_bytes())
    with pytest.raises(OpenAPIError, match="--invokeai-version"):
        load_file(renamed)
    assert load_file(renamed, "6.14.2").invokeai_version == "6.14.2"


def test_version_and_hash_come_from_the_file() -> None:
    spec = load_file(SPEC)
    assert spec.invokeai_version == "6.14.2"
    assert len(spec.sha256) == 64


def test_failed_write_leaves_no_partial_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "fields_6_14_2" / "catalog.json").mkdir(parents=True)  # a file cannot replace it
    assert main(["fields", "--openapi", str(SPEC), "-o", str(out)]) == 1
    assert sorted(p.name for p in (out / "fields_6_14_2").iterdir()) == ["catalog.json"]


SCHEMAS: dict[str, Any] = {
    "ImageField": {"type": "object", "properties": {"image_name": {"type": "string"}}},
    "Mode": {"type": "string", "enum": ["a", "b"]},
}


@pytest.mark.parametrize(
    ("prop", "expr", "nullable", "choices"),
    [
        ({"type": "integer"}, "int", False, None),
        ({"anyOf": [{"type": "number"}, {"type": "null"}]}, "float", True, None),
        ({"type": "string", "enum": ["x", "y"]}, "str", False, ("x", "y")),
        ({"anyOf": [{"enum": ["x"], "type": "string"}, {"type": "null"}]}, "str", True, ("x",)),
        ({"type": "string", "const": "ViT-L"}, "str", False, ("ViT-L",)),
        ({"$ref": "#/components/schemas/Mode"}, "str", False, ("a", "b")),
        ({"type": "array", "items": {"type": "boolean"}}, "list[bool]", False, None),
        (
            {
                "anyOf": [
                    {"$ref": "#/components/schemas/ImageField"},
                    {"type": "array", "items": {"$ref": "#/components/schemas/ImageField"}},
                    {"type": "null"},
                ]
            },
            "ImageField | list[ImageField]",
            True,
            None,
        ),
        ({"anyOf": [{}, {"type": "null"}]}, "Any", True, None),
        ({"type": "object", "additionalProperties": True}, "dict[str, Any]", False, None),
    ],
)
def test_types_come_from_the_schema(
    prop: dict[str, Any], expr: str, nullable: bool, choices: tuple[str, ...] | None
) -> None:
    parsed, _ = parse_property(prop, SCHEMAS)
    assert (parsed.expr, parsed.nullable, parsed.choices) == (expr, nullable, choices)


def test_constraints_from_keywords() -> None:
    prop = {"type": "integer", "minimum": 0, "exclusiveMaximum": 10, "multipleOf": 2}
    assert parse_property(prop, SCHEMAS)[1] == {"ge": 0, "lt": 10, "multiple_of": 2}
    text = {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}]}
    assert parse_property(text, SCHEMAS)[1] == {"max_length": 5}


def test_cli_reports_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fields", "--openapi", str(SPEC), "-o", str(tmp_path)]) == 0
    assert "InvokeAI 6.14.2" in capsys.readouterr().out
    data = json.loads((tmp_path / "fields_6_14_2" / "catalog.json").read_text())
    assert data["invokeai_version"] == "6.14.2"
