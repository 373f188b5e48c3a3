"""The command line's parser: each command's own usage on a usage error, ``$IVKGEN_SERVER`` as
the default server, ``check`` taking input values as ``run`` does, and start-up that loads only
what the command uses (``ivkgen --help`` neither pydantic nor the client stack, the generator or
rich; ``ivkgen inputs`` no client stack)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from ivkgen.cli.findings import check_handle
from ivkgen.cli.input_values import ServerLookups, apply_values
from ivkgen.cli.main import COMMANDS, build_parser, main, parse
from ivkgen.cli.workflow_inputs import load_handle

from tests.conftest import REPO
from tests.unit.test_cli_commands import MODELS, PIPELINE, SD15, UNREACHABLE, lookups

__all__ = ["lookups"]  # the fixture


@pytest.fixture(autouse=True)
def no_server_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IVKGEN_SERVER", raising=False)


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.splitlines()


@pytest.mark.parametrize(
    ("argv", "usage", "error"),
    [
        (
            ["check", str(PIPELINE), "--server", UNREACHABLE, "--sweep", "width=1,2"],
            "usage: ivkgen check ",
            "ivkgen check: error: unrecognized arguments: --sweep width=1,2",
        ),
        (
            ["check", str(PIPELINE)],
            "usage: ivkgen check ",
            "ivkgen check: error: give the server: --server URL, or set $IVKGEN_SERVER",
        ),
        (
            ["run", str(PIPELINE), "--set", "width=8"],
            "usage: ivkgen run ",
            "ivkgen run: error: give the server: --server URL, or set $IVKGEN_SERVER",
        ),
        (
            ["gen"],
            "usage: ivkgen gen ",
            "ivkgen gen: error: give WORKFLOW.json files, --workflow/--all, or --watch DIR",
        ),
        (
            ["gen", "--all"],
            "usage: ivkgen gen ",
            "ivkgen gen: error: --workflow and --all read the library of --server URL (or "
            "$IVKGEN_SERVER)",
        ),
        (
            ["run", str(SD15), "--server", UNREACHABLE, "--runs", "0"],
            "usage: ivkgen run ",
            "ivkgen run: error: argument --runs: '0' must be above 0",
        ),
        (
            ["inputs", str(SD15), "--server", UNREACHABLE],
            "usage: ivkgen inputs ",
            f"ivkgen inputs: error: unrecognized arguments: --server {UNREACHABLE}",
        ),
    ],
)
def test_a_usage_error_shows_the_command_s_own_usage(
    capsys: pytest.CaptureFixture[str], argv: list[str], usage: str, error: str
) -> None:
    lines = usage_error(capsys, *argv)
    assert lines[0].startswith(usage)
    assert lines[-1] == error


@pytest.mark.parametrize("command", ["check", "run"])
def test_ivkgen_server_is_the_default_server(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("IVKGEN_SERVER", UNREACHABLE)
    code = main([command, str(PIPELINE)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"cannot connect to {UNREACHABLE}" in err


def test_given_servers_replace_the_environment_s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVKGEN_SERVER", "http://127.0.0.1:7")
    parser = build_parser()
    assert parse(parser, ["run", str(SD15)]).server == ["http://127.0.0.1:7"]
    given = ["run", str(SD15), "--server", "http://a:1", "--server", "http://b:2"]
    assert parse(parser, given).server == ["http://a:1", "http://b:2"]
    assert parse(parser, ["check", str(SD15), "--server", "http://a:1"]).server == "http://a:1"
    assert parse(parser, ["pull"]).server == "http://127.0.0.1:7"
    assert parse(parser, ["fields"]).server == "http://127.0.0.1:7"
    assert parse(parser, ["fields", "--openapi", "x.json"]).openapi == "x.json"


@pytest.mark.parametrize("command", ["check", "run", "pull", "fields", "gen"])
def test_help_names_the_environment_variable(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "$IVKGEN_SERVER" in " ".join(capsys.readouterr().out.split())


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out.split("positional arguments:")[1]
    assert [name for name in COMMANDS if f"\n    {name} " in listed] == list(COMMANDS)


async def test_check_takes_set_values_as_run_does(lookups: ServerLookups) -> None:
    handle = load_handle(SD15)
    assert [f.message for f in check_handle(handle, MODELS) if f.severity == "error"] == [
        "input [7] 'Model' (model): required: set a value; pass --set model=VALUE to ivkgen run "
        "(or check)"
    ]
    await apply_values(handle, lookups, ["model=tiny-sd15", "width=256"])
    assert [f for f in check_handle(handle, MODELS) if f.severity == "error"] == []


CLIENT_STACK = ("ivkgen.runtime._client", "ivkgen.runtime._workflow.handle", "httpx", "rich")
GENERATOR = ("ivkgen.generator.package", "jinja2", "black", "datamodel_code_generator")


@pytest.mark.parametrize(
    ("argv", "unloaded"),
    [
        (["--help"], (*CLIENT_STACK, *GENERATOR, "pydantic")),
        (["run", "--help"], (*CLIENT_STACK, *GENERATOR, "pydantic")),
        (["check"], (*CLIENT_STACK, *GENERATOR, "pydantic")),
        (["inputs", str(SD15)], (*CLIENT_STACK, *GENERATOR)),  # not on a terminal: no table
    ],
)
def test_a_command_loads_only_what_it_uses(argv: list[str], unloaded: tuple[str, ...]) -> None:
    code = (
        "import sys\n"
        "from ivkgen.cli.main import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in sys.modules if m.startswith({unloaded!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=REPO
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr
