"""Shared fixtures: the dbt manifest prepared once, and a fresh home per test."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# One dbt parse (and one compile of the data tests) per settings for the whole session, shared by its many homes,
# as several homes of one machine can share it (lifecycle.io.dbt.cache_dir); the subprocesses inherit it.
os.environ.setdefault("LIFECYCLE_DBT_CACHE", tempfile.mkdtemp(prefix="lifecycle-dbt-cache-"))
# The Dagster definitions are built for the home named here when first imported; one test process runs nights on
# many homes, so it names none (its partitions then start at the default calendar start, before every test's nights),
# never a developer's ./var.
os.environ["LIFECYCLE_HOME"] = os.path.join(os.path.dirname(__file__), "no-such-home")
import lifecycle.partitions  # noqa: E402, F401  (now, before a fixture names a home)
from lifecycle.settings import Settings, get_settings, load_settings  # noqa: E402
from tests.landing_files import init_hand_written_home  # noqa: E402

#: Module fixtures that run whole nights (ingest, dbt, gates, exports, publish) on a generated home.
NIGHT_FIXTURES = {"published_home", "cutover_home", "gated_home", "manifest_home"}


#: The slowest modules (minutes each on two cores), slowest first: `make test` hands whole modules to its workers in
#: the order collected, so these start first and the short ones fill in around them, instead of one long module
#: starting last while the other worker has nothing left to do.
SLOWEST_MODULES = ("test_spark.py", "test_postgres.py", "test_crashes.py", "test_nightly.py", "test_closed_periods.py")


def pytest_collection_modifyitems(items):
    """Every test that runs whole nights is marked ``nights``: `make test-fast` leaves them out. The slowest modules
    are collected first (``SLOWEST_MODULES``), the others in their usual order."""
    for item in items:
        if NIGHT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.nights)
    rank = {name: i for i, name in enumerate(SLOWEST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a module's tests keep their order


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    """@dbt_assets reads target/manifest.json at import: parse the project once per session."""
    from lifecycle.assets.dbt_project import prepare_manifest

    return prepare_manifest()


@pytest.fixture(scope="session")
def published_home(request, tmp_path_factory, dbt_manifest):
    """The two-night home of ``tests/homes.py``, generated and run once per session; tests only read it
    (a test that reruns a night must leave it as it found it).

    Under xdist the first worker to ask builds it, under a file lock, in the folder all workers' temporary folders
    share; every worker then works on a copy of its own (a copied home runs as the original: its files name each
    other relative to the home). Two nights of 120 customers are built once per session, not once per worker."""
    from tests.homes import make_published_home, published_copy

    mine = tmp_path_factory.mktemp("nightly") / "home"
    if not hasattr(request.config, "workerinput"):  # not an xdist worker
        return make_published_home(mine)
    return published_copy(tmp_path_factory.getbasetemp().parent / "published_home", mine)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """An empty home of its own for each test, hand-written: its nights wait for no daily feed."""
    path = tmp_path / "home"
    init_hand_written_home(path)
    monkeypatch.setenv("LIFECYCLE_HOME", str(path))
    load_settings.cache_clear()
    return get_settings(path)
