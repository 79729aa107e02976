"""The small generated home that most end-to-end tests read: two real nights, published."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from lifecycle.settings import Settings, get_settings, init_home, load_settings

#: History, migration load and the one later night of the published home (120 customers, seed 11).
START, CUTOVER, END = date(2026, 8, 1), date(2026, 11, 10), date(2026, 11, 11)


def make_published_home(path: Path, kind: str = "duckdb") -> tuple[Settings, list]:
    """Generate the home at ``path``, run its cut-over night, answer its refund requests as the sample processor
    does in `lifecycle demo`, run the next night; returns the settings and the two nights' outcomes. ``kind``: the
    home's ``[warehouse] kind``."""
    from lifecycle.generator import generate
    from lifecycle.generator.processor import answer_refund_requests
    from lifecycle.pipelines.night import run_night

    init_home(path)
    if kind != "duckdb":
        toml = path / "lifecycle.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace('kind = "duckdb"', f'kind = "{kind}"'),
                        encoding="utf-8")
    os.environ["LIFECYCLE_HOME"] = str(path)
    generate(path, customers=120, seed=11, start=START, end=END, cutover=CUTOVER)
    load_settings.cache_clear()
    settings = get_settings(path)
    outcomes = [run_night(settings, CUTOVER, ephemeral=True)]
    answer_refund_requests(settings, CUTOVER)
    outcomes.append(run_night(settings, END, ephemeral=True))
    return settings, outcomes


def copy_home(home: Path, path: Path) -> Settings:
    """A copy of the home ``home`` at ``path``, and its settings. A test that runs a night or resets a build on the
    shared published home works on a copy: the home's build folder (the last build's node results, the engines'
    files) is what other tests read of its last night."""
    import shutil

    shutil.copytree(home, path, symlinks=True)
    load_settings.cache_clear()
    return get_settings(path)


def published_copy(shared: Path, path: Path) -> tuple[Settings, list]:
    """A copy at ``path`` of the published home built once at ``shared/home`` by whichever process asks first
    (the others wait on ``shared/.lock``); returns the copy's settings and the two nights' outcomes."""
    import pickle

    from filelock import FileLock

    shared.mkdir(parents=True, exist_ok=True)
    with FileLock(str(shared / ".lock")):
        done = shared / "outcomes.pickle"
        if not done.exists():
            _, outcomes = make_published_home(shared / "home")
            done.write_bytes(pickle.dumps(outcomes))
    os.environ["LIFECYCLE_HOME"] = str(path)  # as make_published_home leaves it
    return copy_home(shared / "home", path), pickle.loads(done.read_bytes())


def warehouse_tables(path: Path) -> dict[str, list[tuple]]:
    """Every table and view of a warehouse file with its rows, sorted (a table has no order): what two runs must
    agree on."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        names = con.execute("select schema_name, table_name from duckdb_tables() union all select schema_name, view_name "
                            "from duckdb_views() where not internal order by all").fetchall()
        return {f"{s}.{t}": con.execute(f'select * from "{s}"."{t}" order by all').fetchall() for s, t in names}
    finally:
        con.close()


def tree_files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative name → bytes): what two runs' exports or registers must agree on."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
