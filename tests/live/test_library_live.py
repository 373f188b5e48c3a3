"""Modules from the server's workflow library: ``ivkgen gen --server --workflow/--all``,
``ivkgen pull`` after the library changed, and ``ivkgen regen --check`` on the result."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ivkgen.cli.main import main
from ivkgen.generator.naming import class_name
from ivkgen.generator.regen import read_module
from ivkgen.runtime import InvokeAIClient, NotFoundError

from tests.conftest import REPO
from tests.harness.server import InvokeAIServer
from tests.live.test_auth_live import ADMIN, ADMIN_PASSWORD

WORKFLOW = REPO / "data" / "workflows" / "sd15-text-to-image.json"


def _workflow(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(WORKFLOW.read_text())
    return {**data, "name": name}


@pytest.fixture
def saved(server_url: str) -> Iterator[tuple[InvokeAIClient, str, str]]:
    """A workflow saved in the library under a new name: (client, id, name); deleted after."""
    name = f"Library Fox {uuid.uuid4().hex[:8]}"
    with InvokeAIClient.from_url(server_url) as client:
        record = client.workflow_repo.create_workflow(_workflow(name))
        try:
            yield client, record.workflow_id, name
        finally:
            with contextlib.suppress(NotFoundError):  # the test may have deleted it
                client.workflow_repo.delete_workflow(record.workflow_id)


def _header_command(module: Path) -> list[str]:
    found = read_module(module)
    assert found is not None
    return found.command


def _body(module: str) -> str:
    """A module's code below its header, up to the constants naming its source file."""
    return module[module.index('"""Typed inputs') : module.index("    SOURCE: ClassVar")]


def test_gen_from_the_library_pull_and_check(
    saved: tuple[InvokeAIClient, str, str],
    server_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client, workflow_id, name = saved
    out = tmp_path / "generated"
    assert main(["gen", "--server", server_url, "--workflow", name, "-o", str(out)]) == 0
    record = client.workflow_repo.get_workflow(workflow_id)
    module_name = "library_fox_" + name.split()[-1]
    module = out / f"{module_name}.py"
    source = out / "workflows" / f"{module_name}.json"
    assert capsys.readouterr().out.startswith(f"ivkgen: wrote {module} in ")
    assert json.loads(source.read_text()) == record.workflow
    text = module.read_text()
    assert f"#   library workflow {workflow_id} updated_at {record.updated_at}\n" in text
    command = " ".join(line.removesuffix(" \\").strip() for line in _header_command(module))
    assert command == f"ivkgen gen --server {server_url} --workflow {workflow_id} -o {out}"
    assert f'SOURCE: ClassVar[str] = "workflows/{module_name}.json"' in text

    # the same module as from the exported file, and by id the same as by name
    assert main(["gen", str(WORKFLOW), "-o", str(tmp_path / "from_file")]) == 0
    from_file = (tmp_path / "from_file" / "sd15_text_to_image.py").read_text()
    renamed = from_file.replace("Sd15TextToImage", class_name(module_name))
    assert _body(text) == _body(renamed.replace("SD1.5 Text to Image", name))
    assert main(["gen", "--server", server_url, "--workflow", workflow_id, "-o", str(out)]) == 0
    assert module.read_text() == text
    capsys.readouterr()

    assert main(["pull", str(out), "--server", server_url]) == 0
    assert capsys.readouterr().out == f"ivkgen: {module} is up to date ({workflow_id})\n"

    changed = _workflow(name)
    noise = next(n for n in changed["nodes"] if n["data"]["type"] == "noise")
    noise["data"]["inputs"]["width"]["value"] = 256
    updated = client.workflow_repo.update_workflow(workflow_id, changed)
    assert updated.updated_at != record.updated_at
    assert main(["regen", "--check", str(out)]) == 0  # the JSON on disk is unchanged
    capsys.readouterr()

    assert main(["pull", str(out), "--server", server_url]) == 0
    assert capsys.readouterr().out == (
        f"ivkgen: regenerated {module}: library workflow {workflow_id} changed "
        f"({record.updated_at} -> {updated.updated_at})\n"
    )
    pulled = module.read_text()
    assert 'At("noise:VuddLEG62H", "width")] = 256' in pulled
    assert f"#   library workflow {workflow_id} updated_at {updated.updated_at}\n" in pulled
    assert json.loads(source.read_text())["nodes"] == changed["nodes"]
    assert main(["regen", "--check", str(out)]) == 0
    assert main(["regen", str(out)]) == 0
    assert module.read_text() == pulled  # regen keeps the library line
    capsys.readouterr()

    client.workflow_repo.delete_workflow(workflow_id)
    assert main(["pull", str(out), "--server", server_url]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        f"ivkgen: error: {module}: library workflow {workflow_id} is gone from {server_url}; "
        "delete the module or generate it from a file"
    )


def test_an_unknown_workflow_is_one_line_and_writes_nothing(
    saved: tuple[InvokeAIClient, str, str],
    server_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, _, name = saved
    out = tmp_path / "generated"
    args = ["gen", "--server", server_url, "--workflow", name, "--workflow", "No Such Flow"]
    assert main([*args, "-o", str(out)]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(
        f"ivkgen: error: no workflow named or with id 'No Such Flow' in the library of "
        f"{server_url} (its workflows: "
    )
    assert not out.exists()
    with pytest.raises(SystemExit) as usage:
        main(["gen", "--workflow", name, "-o", str(out)])
    assert usage.value.code == 2
    assert "--workflow and --all read the library of --server URL" in capsys.readouterr().err


def test_gen_all_on_a_multi_user_server_with_a_login(
    multiuser_invokeai: InvokeAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = multiuser_invokeai.url
    with InvokeAIClient.from_url(url) as anonymous:
        if anonymous.get_auth_status().setup_required:
            anonymous.setup_admin(ADMIN, ADMIN_PASSWORD, display_name="Admin")
    login = ["--email", ADMIN, "--password", ADMIN_PASSWORD]
    with InvokeAIClient.from_url(url, email=ADMIN, password=ADMIN_PASSWORD) as client:
        records = [
            client.workflow_repo.create_workflow(_workflow(f"Team Flow {n}")) for n in (1, 2)
        ]
        try:
            out = tmp_path / "team"
            assert main(["gen", "--server", url, "--all", "-o", str(out), *login]) == 0
            assert sorted(p.name for p in out.glob("*.py")) == [
                "__init__.py",
                "team_flow_1.py",
                "team_flow_2.py",
            ]
            assert sorted(p.name for p in (out / "workflows").iterdir()) == [
                "team_flow_1.json",
                "team_flow_2.json",
            ]
            assert main(["pull", str(out), "--server", url, *login]) == 0
            assert capsys.readouterr().out.count("is up to date") == 2
            assert main(["gen", "--server", url, "--all", "-o", str(tmp_path / "x")]) == 1
            assert "log in" in capsys.readouterr().err
        finally:
            for record in records:
                client.workflow_repo.delete_workflow(record.workflow_id)
