"""API keys: the file's format, digests only, owner ids, and every way a header can be wrong."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from ivkgen.runtime._errors import ServeSetupError
from ivkgen.service.auth import ApiKeys
from ivkgen.service.problems import Unauthorized

ALICE = "alice-0123456789abcdef"
BOB = "bob-fedcba9876543210"


@pytest.fixture
def keys(tmp_path: Path) -> ApiKeys:
    path = tmp_path / "keys"
    path.write_text(f"# the service's keys\n\n  {ALICE}  \n{BOB}\n", encoding="utf-8")
    return ApiKeys.from_file(path)


def test_each_key_is_a_distinct_stable_owner(keys: ApiKeys) -> None:
    alice = keys.owner(f"Bearer {ALICE}")
    bob = keys.owner(f"Bearer {BOB}")
    assert alice != bob
    assert keys.owner(f"bearer   {ALICE}") == alice  # the scheme is case-insensitive
    assert len(alice) == 16 and alice.isalnum()


def test_owner_id_is_the_same_across_loads_and_never_the_key(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_text(f"{ALICE}\n")
    second.write_text(f"{BOB}\n{ALICE}\n")
    owner = ApiKeys.from_file(first).owner(f"Bearer {ALICE}")
    assert ApiKeys.from_file(second).owner(f"Bearer {ALICE}") == owner
    assert owner not in ALICE and owner not in hashlib.sha256(ALICE.encode()).hexdigest()


def test_keys_are_held_only_as_digests(keys: ApiKeys) -> None:
    held = repr(vars(keys))
    assert ALICE not in held and BOB not in held


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (None, "no API key"),
        ("", "no API key"),
        (ALICE, "malformed"),
        (f"Basic {ALICE}", "malformed"),
        ("Bearer", "malformed"),
        ("Bearer ", "malformed"),
        (f"Bearer {ALICE} extra", "malformed"),
        (f"Token {ALICE}", "malformed"),
        ("Bearer not-a-key", "unknown API key"),
        (f"Bearer {ALICE}x", "unknown API key"),
        (f"Bearer {ALICE.upper()}", "unknown API key"),
        ("Bearer # the service's keys", "malformed"),
    ],
)
def test_a_missing_malformed_or_unknown_key_is_401(
    keys: ApiKeys, header: str | None, words: str
) -> None:
    with pytest.raises(Unauthorized) as caught:
        keys.owner(header)
    assert caught.value.status == 401
    assert words in caught.value.detail
    assert caught.value.headers["WWW-Authenticate"].startswith("Bearer")
    assert ALICE not in caught.value.detail


def test_a_comment_line_is_no_key(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"#{ALICE}\n{BOB}\n")
    with pytest.raises(Unauthorized):
        ApiKeys.from_file(path).owner(f"Bearer #{ALICE}")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "cannot read the API keys file"),
        ("", "no API key in the file"),
        ("# only a comment\n\n", "no API key in the file"),
        (f"{ALICE}\ntwo words\n", ":2: an API key cannot contain spaces"),
        (b"\xff\xfe\x00", "cannot read the API keys file"),
    ],
)
def test_an_unusable_keys_file_is_an_error_naming_it(
    tmp_path: Path, content: str | bytes | None, words: str
) -> None:
    path = tmp_path / "api-keys.txt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ServeSetupError) as caught:
        ApiKeys.from_file(path)
    assert str(path) in str(caught.value) and words in str(caught.value)
