"""A night killed at any instant leaves a home that tells the truth, and the next run repairs it.

The harness kills a real ``lifecycle nightly`` process (SIGKILL by its own PID, ``lifecycle.failpoints``) at every
boundary between stages, on a copy of the published home, and checks after each kill: the published file and its
record agree, no export file differs from what an uninterrupted run writes (no half file), and the register equals
the files. Then two nights start at once: one is refused naming the other, which runs to the end, and its outputs
are byte-identical to the uninterrupted run's. The units below kill the swap itself and settle staged register rows
both ways (files complete, files not).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from lifecycle.failpoints import ENV, FAILPOINTS
from lifecycle.io import register
from lifecycle.io.warehouse import last_published_date, publish, warehouse_night
from lifecycle.settings import Settings
from tests.homes import CUTOVER, END, copy_home, tree_files, warehouse_tables
from tests.landing_files import mark_published

ROOT = Path(__file__).resolve().parents[1]


def _nightly(home: Path, day: date, failpoint: str | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    env["LIFECYCLE_HOME"] = str(home)
    if failpoint:
        env[ENV] = failpoint
    return subprocess.Popen([sys.executable, "-m", "lifecycle.cli", "--home", str(home), "nightly", "--date",
                             day.isoformat()], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _assert_consistent(settings: Settings, reference: Settings, after: str) -> None:
    # the published file and its record agree: the night the file holds is the night every reader is told
    assert warehouse_night(settings.warehouse) == last_published_date(settings) == END, after
    # no half file: every export file is byte for byte what the uninterrupted run wrote, nothing else
    expected = tree_files(reference.exports)
    for name, content in tree_files(settings.exports).items():
        assert name in expected and content == expected[name], f"{after}: exports/{name}"
    # the register equals the files, once what the kill left staged is settled (the next night's first step)
    register.recover(settings)
    for night in (CUTOVER, END):
        assert register.audit(settings, night) == [], after
    assert tree_files(settings.state / "register") == tree_files(reference.state / "register"), after


def test_a_night_killed_at_every_boundary_is_repaired_by_the_next_run(published_home, tmp_path):
    reference, _ = published_home
    copy = tmp_path / "home"
    settings = copy_home(reference.home, copy)
    for failpoint in FAILPOINTS:  # rerun night END, killed at each boundary in turn
        proc = _nightly(copy, END, failpoint)
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == -signal.SIGKILL, f"{failpoint}: rc {proc.returncode}: {err[-2000:]}"
        _assert_consistent(settings, reference, f"killed {FAILPOINTS[failpoint]}")

    # two nights at once: the first to take the lock runs, the other is refused naming it
    first, second = _nightly(copy, END), _nightly(copy, END)
    results = {p.pid: (p.communicate(timeout=600), p.returncode) for p in (first, second)}
    codes = sorted(rc for _, rc in results.values())
    assert codes == [0, 75], results
    (ran,) = [pid for pid, (_, rc) in results.items() if rc == 0]
    ((_, refused_err),) = [out for out, rc in results.values() if rc == 75]
    assert f"night {END.isoformat()} is running on this home (PID {ran}, since " in refused_err

    # the surviving run's outputs are the uninterrupted run's, byte for byte and row for row
    assert tree_files(settings.exports) == tree_files(reference.exports)
    assert tree_files(settings.state / "register") == tree_files(reference.state / "register")
    assert list(settings.state.glob("register/*/*.staged")) == []
    assert warehouse_tables(settings.warehouse) == warehouse_tables(reference.warehouse)


def _fake_build(settings: Settings, night: date) -> None:
    settings.build_warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.build_warehouse))
    con.execute("create schema marts")
    con.execute("create table marts.warehouse_night as select ?::date as business_date", [night])
    con.close()


def test_a_kill_right_after_the_swap_leaves_the_file_and_its_record_agreeing(home):
    """The swap is the publication: killed before the record is written, the home reads the night the file holds
    (and rewrites the record from it)."""
    mark_published(home, date(2026, 3, 2))
    _fake_build(home, date(2026, 3, 3))
    script = ("import sys; from datetime import date; from lifecycle.io.warehouse import publish; "
              "from lifecycle.settings import get_settings; publish(get_settings(sys.argv[1]), date(2026, 3, 3))")
    env = {**os.environ, ENV: "after_swap"}
    proc = subprocess.run([sys.executable, "-c", script, str(home.home)], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    record = home.state / "published.json"
    assert '"business_date": "2026-03-02"' in record.read_text()  # the record still names the night before
    assert last_published_date(home) == date(2026, 3, 3)  # the file says which night it holds
    assert '"business_date": "2026-03-03"' in record.read_text()
    assert not home.build_warehouse.exists()  # swapped in, not copied


def test_a_build_of_another_night_is_never_published(home):
    _fake_build(home, date(2026, 3, 4))
    from lifecycle.io.warehouse import PublishError

    with pytest.raises(PublishError, match="the build holds night 2026-03-04, not 2026-03-05"):
        publish(home, date(2026, 3, 5))


def _stage_access(settings: Settings, night: date, keys: list[str]) -> register.Staged:
    rows = pa.table({"change_id": pa.array(keys, pa.string()), "access_key": pa.array(keys, pa.string()),
                     "action": pa.array(["grant"] * len(keys), pa.string()),
                     "access_end": pa.array([""] * len(keys), pa.string())})
    return register.stage(settings, "access_changes", night, rows, key="change_id")


def test_staged_register_rows_are_recorded_when_their_files_are_complete(home):
    night = date(2026, 3, 2)
    _stage_access(home, night, ["C-1:P:grant:2026-03-02", "C-2:P:grant:2026-03-02"])
    folder = home.exports / "access" / night.isoformat()
    folder.mkdir(parents=True)
    (folder / "changes.csv").write_text("action,customer_id\ngrant,C-1\ngrant,C-2\n")
    (folder / "control.json").write_text('{"changes": 2}\n')  # written last: the files are complete
    assert register.sent_keys(home, "access_changes", "change_id", through=night) == set()  # staged is not sent
    (line,) = register.recover(home)
    assert line == ("access_changes: night 2026-03-02 was interrupted after its files were complete; "
                    "its register rows are recorded")
    assert register.sent_keys(home, "access_changes", "change_id", through=night) == {
        "C-1:P:grant:2026-03-02", "C-2:P:grant:2026-03-02"}
    assert register.audit(home, night) == []
    assert register.recover(home) == []  # settled once


def test_staged_register_rows_of_incomplete_files_are_dropped_with_thetree_files(home):
    night = date(2026, 3, 2)
    _stage_access(home, night, ["C-1:P:grant:2026-03-02"])
    folder = home.exports / "access" / night.isoformat()
    folder.mkdir(parents=True)
    (folder / "changes.csv").write_text("action,customer_id\ngrant,C-1\n")  # killed before control.json
    (line,) = register.recover(home)
    assert line == ("access_changes: night 2026-03-02 was interrupted before its files were complete; its partial "
                    "files (exports/access/2026-03-02) are removed, nothing was sent")
    assert not folder.exists()
    assert register.sent_keys(home, "access_changes", "change_id", through=night) == set()
    assert list(home.state.glob("register/*/*")) == []
