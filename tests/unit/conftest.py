"""Fixtures of the unit tier: the service's tests run on each store."""

from __future__ import annotations

import pytest

from tests.unit import _serve


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.live)])
def each_store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The store the service of ``_serve.service_on`` keeps its runs in: an in-memory sqlite,
    then a new database of a real PostgreSQL (shared by replicas, runs taken from its queue; a
    server, so those runs belong to the live tier)."""
    store = ":memory:" if request.param == "sqlite" else request.getfixturevalue("fresh_database")
    monkeypatch.setattr(_serve, "STORE", store)
    return store
