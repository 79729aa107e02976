"""Shared fixtures: the dbt manifest prepared once, and a fresh home per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

from lifecycle.settings import Settings, get_settings, init_home, load_settings  # noqa: E402

#: Module fixtures that run whole nights (ingest, dbt, gates, exports, publish) on a generated home.
NIGHT_FIXTURES = {"published_home", "cutover_home", "gated_home", "manifest_home"}


def pytest_collection_modifyitems(items):
    """Every test that runs whole nights is marked ``nights``: `make test-fast` leaves them out."""
    for item in items:
        if NIGHT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.nights)


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    """@dbt_assets reads target/manifest.json at import: parse the project once per session."""
    from lifecycle.assets.dbt_project import prepare_manifest

    return prepare_manifest()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """An empty home of its own for each test."""
    path = tmp_path / "home"
    init_home(path)
    monkeypatch.setenv("LIFECYCLE_HOME", str(path))
    load_settings.cache_clear()
    return get_settings(path)
