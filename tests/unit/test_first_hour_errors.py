"""Rough edges of a first hour with ivkgen, each one line that says what to do: a server URL
without its scheme, and ``to_pil()`` without Pillow."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ivkgen.cli.main import main
from ivkgen.runtime._errors import MissingExtraError
from ivkgen.runtime._media import OutputImage

from tests.conftest import REPO

WORKFLOW = REPO / "data" / "workflows" / "prompt-arithmetic.json"


@pytest.mark.parametrize("command", ["check", "run"])
def test_a_server_url_without_its_scheme_is_one_line_on_the_command_line(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, str(WORKFLOW), "--server", "127.0.0.1:9190"]) == 1
    assert capsys.readouterr().err == (
        "ivkgen: error: '127.0.0.1:9190' is not a server URL: it lacks its scheme; use "
        "http://127.0.0.1:9190\n"
    )


def test_gen_from_a_server_url_without_its_scheme_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gen", str(WORKFLOW), "-o", str(tmp_path), "--server", "localhost:9090"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "ivkgen: error: 'localhost:9090' is not a server URL: it lacks its scheme; use "
        "http://localhost:9090"
    ]


class Refused:
    """A downloader that must not be asked: Pillow is missing before any download."""

    def fetch(self, kind: str, name: str) -> bytes:
        raise AssertionError("downloaded although Pillow is missing")

    async def afetch(self, kind: str, name: str) -> bytes:
        raise AssertionError("downloaded although Pillow is missing")


async def test_to_pil_without_pillow_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)  # `import PIL` fails as when not installed
    image = OutputImage.model_construct(image_name="a.png", downloader=Refused())
    expected = "to_pil() needs Pillow, which is not installed; pip install 'ivkgen[pil]'"
    with pytest.raises(MissingExtraError) as caught:
        image.to_pil()
    assert str(caught.value) == expected
    with pytest.raises(MissingExtraError):
        await image.ato_pil()
