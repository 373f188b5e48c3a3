"""Every code block of README.md and of the docs pages it links to, in document order, against
the real server.

python blocks run in a subprocess (the pages' URL replaced by the test server's) and all of them
pass ``mypy --strict``; the excerpt of a generated module matches the committed file; bash blocks
name existing make targets and their ``ivkgen`` and example commands run; each text block shows
lines of the output of the bash block before it. The blocks of the README's "Use ivkgen in your
project" are what a new user does: in an empty folder outside the checkout, verbatim, they make a
fresh venv, build the wheel, install it and run the generated module against the server (bash
blocks as scripts, python blocks as the file their first comment names).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

README_URL = "http://127.0.0.1:9090"
EXCERPT = "# excerpt of generated/sd15_text_to_image.py"
PROJECT_SECTION = "README.md: Use ivkgen in your project"
CHECKOUT = "path/to/ivkgen"


PAGES = [
    "README.md",
    "docs/generated-modules.md",
    "docs/dynamic-api.md",
    "docs/sync-async-and-events.md",
    "docs/workflow-kinds.md",
    "docs/several-servers.md",
    "docs/performance.md",
    "docs/reliability.md",
    "docs/contributing.md",
]


def _blocks(page: str) -> list[tuple[str, str, str]]:
    """(language, code, "page: section title") of every fenced block of ``page``, in order."""
    text = (REPO / page).read_text()
    found = re.finditer(r"^## ([^\n]+)$|^```(\w+)\n(.*?)^```$", text, re.M | re.S)
    section, blocks = "", []
    for match in found:
        if match[1]:
            section = match[1]
        else:
            blocks.append((match[2], match[3], f"{page}: {section}"))
    return blocks


BLOCKS = [block for page in PAGES for block in _blocks(page)]
BIN = Path(sys.executable).parent
MAKE_TARGETS = set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(), re.M))

_last_output: list[str] = [""]


def block_id(block: tuple[str, str, str]) -> str:
    page = block[2].partition(":")[0].removeprefix("docs/").removesuffix(".md")
    return f"{page}:{block[0]}:{block[1].splitlines()[0][:40]}"


@pytest.fixture(scope="module")
def user_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new user's project outside the checkout: its package ``myapp`` and an exported
    workflow in ``workflows/``; no venv (the README's first block makes it)."""
    folder = tmp_path_factory.mktemp("user-project")
    (folder / "workflows").mkdir()
    shutil.copy(REPO / "data" / "workflows" / "sd15-text-to-image.json", folder / "workflows")
    (folder / "myapp").mkdir()
    (folder / "myapp" / "__init__.py").write_text("")
    return folder


def run_in_project(language: str, code: str, url: str, folder: Path) -> str:
    """A block of the project section, run in the user's project with its venv (once the first
    block made it) first on the PATH: a bash block as one script, a python block as the file
    its first comment names."""
    code = code.replace(README_URL, url).replace(CHECKOUT, str(REPO))
    venv_bin = folder / ".venv" / "bin"
    if language == "python":
        name = code.splitlines()[0].removeprefix("# ")
        (folder / name).write_text(code)
        return run([str(venv_bin / "python"), name], folder)
    env = {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{code}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    if "source .venv/bin/activate" in code:  # the wheel built here, in the new venv
        pip = [str(venv_bin / "python"), "-m", "pip", "show", "ivkgen"]
        assert f"Location: {folder / '.venv'}" in run(pip, folder)
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the checkout where the README's relative paths resolve."""
    folder = tmp_path_factory.mktemp("readme")
    (folder / "data").symlink_to(REPO / "data")
    return folder


def run(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=400)
    assert (
        done.returncode == 0
    ), f"{shlex.join(command)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stdout + done.stderr


def check_command(line: str, url: str, cwd: Path) -> str:
    words = shlex.split(line.replace(README_URL, url), comments=True)
    if not words:
        return ""
    if words[0] == "make":
        assert words[1] in MAKE_TARGETS, f"README names `make {words[1]}`, not in the Makefile"
        return ""
    if words[:2] == ["source", ".venv/bin/activate"]:
        assert (BIN / "activate").is_file()
        return ""
    if words[0] == "ivkgen":
        return run([str(BIN / "ivkgen"), *words[1:]], cwd)
    if words[:2] == ["python", "-m"] and words[2].startswith("examples."):
        return run([sys.executable, *words[1:]], REPO)
    raise AssertionError(f"docs command not covered by this test: {line}")


@pytest.mark.parametrize("block", BLOCKS, ids=block_id)
def test_readme_block(
    block: tuple[str, str, str], server_url: str, workdir: Path, request: pytest.FixtureRequest
) -> None:
    language, code, section = block
    if section == PROJECT_SECTION:
        _last_output[0] = run_in_project(
            language, code, server_url, request.getfixturevalue("user_project")
        )
    elif language == "bash":
        _last_output[0] = "".join(
            check_command(line, server_url, workdir) for line in code.splitlines()
        )
    elif language == "text":
        missing = [line for line in code.splitlines() if line.strip() not in _last_output[0]]
        assert not missing, f"{section}: not in the output of the commands above: {missing}"
    elif code.startswith(EXCERPT):
        module = (REPO / "generated" / "sd15_text_to_image.py").read_text()
        assert [line for line in code.splitlines()[1:] if line.strip() not in module] == []
    elif "email=" in code:  # a login needs a multi-user server: compiled here, typed below
        compile(code, f"{section} block", "exec")
    else:
        script = workdir / "block.py"
        script.write_text(code.replace(README_URL, server_url))
        run([sys.executable, str(script)], workdir)


def test_every_python_block_passes_mypy_strict(tmp_path: Path) -> None:
    python = [
        code
        for language, code, section in BLOCKS
        if language == "python" and not code.startswith(EXCERPT) and section != PROJECT_SECTION
    ]
    assert len(python) >= 7  # the excerpt is compared with the generated module instead, and
    # the project's blocks are type-checked in the project by its own bash block
    files = []
    for index, code in enumerate(python):
        files.append(tmp_path / f"readme_block_{index}.py")
        files[-1].write_text(code)
    run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(REPO / "pyproject.toml"),
            *map(str, files),
        ],
        REPO,
    )


def test_every_block_is_checked() -> None:
    assert {language for language, _, _ in BLOCKS} == {"bash", "text", "python"}
    project = [(language, code) for language, code, section in BLOCKS if section == PROJECT_SECTION]
    assert [language for language, _ in project] == ["bash", "bash", "python", "bash"]
    assert "python3.11 -m venv .venv" in project[0][1] and "pip install" in project[0][1]
    for step in ("mypy --strict make_images.py", "python make_images.py", "ivkgen run "):
        assert step in project[3][1]


def test_every_docs_page_is_tested_and_linked_from_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    for page in PAGES[1:]:
        assert f"]({page})" in readme, f"README.md does not link to {page}"
    assert [page for page in PAGES if not _blocks(page)] == [
        "docs/performance.md",
        "docs/reliability.md",
    ]
    written = {f"docs/{path.name}" for path in (REPO / "docs").glob("*.md")}
    # pages whose blocks their own tests run (serving, openai, replicas) or that have none
    own_tests = {"docs/serving.md", "docs/openai.md", "docs/replicas.md"}
    assert written - set(PAGES) == own_tests | {"docs/architecture.md", "docs/invokeai-7.md"}
    for page in own_tests | {"docs/invokeai-7.md"}:
        assert f"]({page})" in readme, f"README.md does not link to {page}"
