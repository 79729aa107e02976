"""What the operator and finance type in the morning: status, a table out as CSV or Parquet, a night whose expected
feeds have not landed, the partitions and the schedule of a home."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from lifecycle.checks.gates import read_gates
from lifecycle.cli import main
from lifecycle.io.warehouse import connect_published, last_published_date
from lifecycle.settings import load_settings
from tests.homes import CUTOVER, END
from tests.landing_files import DAY, NO_DAILY_FEEDS, order, write_feed, write_reference

ROOT = Path(__file__).resolve().parents[1]


def _cli(settings, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lifecycle.cli", "--home", str(settings.home), *argv],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


# -- status ---------------------------------------------------------------------------------------

def test_status_of_a_published_home(published_home, capsys):
    settings, _ = published_home
    assert main(["--home", str(settings.home), "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["published_night"] == END.isoformat()
    assert status["latest_night"]["state"] == "published"
    assert status["latest_night"]["failures"] == [] and status["latest_night"]["withheld"] == []
    assert all(g["passed"] and g["checks"] > 0 for g in status["latest_night"]["gates"].values())
    # quarantine per feed and night: what the ingestion reports say, night by night
    assert status["quarantine"]["nights"] == [CUTOVER.isoformat(), END.isoformat()]
    for feed, counts in status["quarantine"]["rows_by_feed"].items():
        for night, count in zip(status["quarantine"]["nights"], counts, strict=True):
            report = json.loads((settings.state / "ingest" / night / f"{feed}.json").read_text())
            assert count == report["rows_quarantined"]
    assert sum(sum(c) for c in status["quarantine"]["rows_by_feed"].values()) > 0  # the generator plants bad rows
    # the next night's expected files have not landed (the sample ends at END)
    assert status["next_night"] == {
        "date": (END + timedelta(days=1)).isoformat(), "when_missing": "wait",
        "expected_daily": ["orders", "payments", "cancellations", "suspensions", "service_actions", "interactions"],
        "missing": ["orders", "payments", "cancellations", "suspensions", "service_actions", "interactions"]}
    # the register's last night per export, with its rows
    con = connect_published(settings)
    try:
        sent = con.execute("select count(*) from marts.fct_outbox_messages where is_sent and channel is not null "
                           "and due_date <= ?", [END]).fetchone()[0]
    finally:
        con.close()
    outbox = status["register"]["outbox_messages"]
    assert outbox["last_night"] == END.isoformat() and outbox["rows_total"] == sent > 0
    assert status["gl_periods"] and status["gl_periods"][-1] == END.strftime("%Y-%m")

    assert main(["--home", str(settings.home), "status"]) == 0
    screen = capsys.readouterr().out.splitlines()
    assert screen[1] == f"published:  night {END}"
    assert screen[2] == f"last night: {END} published"
    assert screen[4] == f"next night: {END + timedelta(days=1)}: 0 of 6 expected daily feeds landed; missing orders, " \
                        "payments, cancellations, suspensions, service_actions, interactions (when missing: wait)"
    assert any(line.startswith("outbox messages") and line.split()[2:] == [END.isoformat(), str(outbox[
        "rows_last_night"]), str(sent)] for line in screen)


# -- export ---------------------------------------------------------------------------------------

def test_export_writes_every_row_and_column_exactly(published_home, tmp_path):
    settings, _ = published_home
    period = END.strftime("%Y-%m")
    out = tmp_path / "tb.csv"
    proc = _cli(settings, "export", "rpt_trial_balance", "--where", f"period = '{period}'", "--csv", str(out))
    assert proc.returncode == 0, proc.stderr
    con = connect_published(settings)
    try:
        columns = [c[0] for c in con.execute("select * from marts.rpt_trial_balance limit 0").description]
        expected = con.execute("select count(*), sum(period_debit), sum(period_credit), sum(closing_balance) "
                               "from marts.rpt_trial_balance where period = ?", [period]).fetchone()
        invoices = con.execute("select count(*), sum(net_amount), sum(tax_amount) from marts.fct_invoice_lines"
                               ).fetchone()
    finally:
        con.close()
    assert proc.stderr == (f"marts.rpt_trial_balance: {expected[0]} rows, {len(columns)} columns of published night "
                           f"{END} written to {out}\n")
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == columns and len(rows) == expected[0] > 0
    assert {r["period"] for r in rows} == {period}
    assert (len(rows), sum(Decimal(r["period_debit"]) for r in rows), sum(Decimal(r["period_credit"]) for r in rows),
            sum(Decimal(r["closing_balance"]) for r in rows)) == expected
    assert all(len(r["closing_balance"].split(".")[1]) == 2 for r in rows)  # exact decimals, never 1e3 or 12.5

    parquet = tmp_path / "lines.parquet"
    assert _cli(settings, "export", "marts.fct_invoice_lines", "--parquet", str(parquet)).returncode == 0
    table = pq.read_table(parquet)
    assert str(table.schema.field("net_amount").type) == "decimal128(18, 2)"
    assert (table.num_rows, sum(table.column("net_amount").to_pylist()),
            sum(table.column("tax_amount").to_pylist())) == invoices
    again = tmp_path / "again.parquet"
    assert _cli(settings, "export", "marts.fct_invoice_lines", "--parquet", str(again)).returncode == 0
    assert again.read_bytes() == parquet.read_bytes()  # the same night, the same bytes


def test_export_neutralises_formulas_in_text_never_in_numbers(home):
    con = duckdb.connect(str(home.warehouse))
    con.execute("create schema marts; create table marts.t as select * from (values "
                "('=HYPERLINK(\"http://x\")', -12.50::decimal(18,2), date '2026-11-30', ['a', 'b'], null::varchar), "
                "('+1', 0.10::decimal(18,2), date '2026-12-01', [], 'line\rbreak')) v(name, amount, day, tags, note)")
    con.close()
    out = io.StringIO()
    sys_stdout, sys.stdout = sys.stdout, out
    try:
        assert main(["--home", str(home.home), "export", "t", "--csv", "-"]) == 0
    finally:
        sys.stdout = sys_stdout
    assert out.getvalue() == (
        "name,amount,day,tags,note\n"
        '"\'+1","0.10","2026-12-01","[]","line\rbreak"\n'  # a CR inside: every cell quoted
        "\"'=HYPERLINK(\"\"http://x\"\")\",-12.50,2026-11-30,\"[\"\"a\"\", \"\"b\"\"]\",\n")


@pytest.mark.parametrize(("argv", "message"), [
    (["export", "marts.tt", "--csv", "-"],
     "lifecycle export: no table 'marts.tt' in the published warehouse; did you mean marts.t"),
    (["export", "nothing_like_it", "--csv", "-"],
     "lifecycle export: no table 'nothing_like_it' in the published warehouse; `lifecycle sql \"show all tables\"` "
     "lists them"),
    (["export", "marts.t", "--where", "nope = 1", "--csv", "-"],
     "lifecycle export: marts.t: the filter 'nope = 1' is refused: Binder Error: "),
    (["export", "marts.t", "--parquet", "-"],
     "lifecycle export: --parquet needs a file name (Parquet is not written to standard output)"),
    (["export", "marts.t", "--csv", "/no/such/folder/t.csv"],
     "lifecycle export: /no/such/folder is not a folder: give --csv a file in an existing folder"),
])
def test_export_mistakes_are_one_line(home, capsys, argv, message):
    con = duckdb.connect(str(home.warehouse))
    con.execute("create schema marts; create table marts.t as select 1 as n")
    con.close()
    assert main(["--home", str(home.home), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1, err


# -- expected feeds -------------------------------------------------------------------------------

def _expect(settings, expected: str, when_missing: str) -> None:
    toml = settings.home / "lifecycle.toml"
    text = toml.read_text().replace(NO_DAILY_FEEDS, f"expected_daily = {expected}")
    toml.write_text(text.replace('when_missing = "wait"', f'when_missing = "{when_missing}"'))
    load_settings.cache_clear()


def test_a_night_waits_for_its_expected_feeds_or_runs_with_a_warning(home):
    write_reference(home)
    write_feed(home, "orders", DAY, [order()])
    _expect(home, '["orders", "payments"]', "wait")
    refused = _cli(home, "nightly", "--date", DAY.isoformat())
    assert (refused.returncode, refused.stdout) == (75, "")
    assert refused.stderr == (
        f"lifecycle nightly: refused: night {DAY} waits for its expected daily feed payments: "
        f"landing/payments/{DAY}.csv has not landed. Run the night again once they have (a day without events still "
        'sends its header line), or set [feeds] when_missing = "warn" in lifecycle.toml to run without them\n')
    assert not (home.state / "gates").exists() and not list(home.raw.rglob("*.parquet"))  # nothing ran

    _expect(home, '["orders", "payments"]', "warn")
    warned = _cli(home, "nightly", "--date", DAY.isoformat())
    assert warned.returncode == 0, warned.stdout + warned.stderr
    assert last_published_date(home) == DAY
    gates = read_gates(home, DAY)
    assert gates.all_passed
    assert [(w.check, w.message) for w in gates.warnings] == [
        ("expected_feed_missing", f"landing/payments/{DAY}.csv did not land; the night ran without it")]
    assert f"  WARNING expected_feed_missing: landing/payments/{DAY}.csv did not land" in warned.stdout
    status = _cli(home, "status")
    assert f"  WARNING:  expected_feed_missing: landing/payments/{DAY}.csv did not land; the night ran without it" \
        in status.stdout.splitlines()


def test_a_home_without_landing_files_or_before_its_first_night_refuses_at_once(home):
    empty = _cli(home, "nightly", "--date", DAY.isoformat())
    assert empty.returncode == 2
    assert empty.stderr == (f"lifecycle nightly: refused: no landing file at all under {home.landing}: there is "
                            f"nothing to run night {DAY} on. Deliver the feeds' files as "
                            "landing/<feed>/<YYYY-MM-DD>.csv, or try a sample home: "
                            f"lifecycle --home {home.home} demo\n")
    write_reference(home)
    early = _cli(home, "backfill", "--start", (DAY - timedelta(days=2)).isoformat(), "--end", DAY.isoformat())
    assert early.returncode == 2
    assert early.stderr == (f"lifecycle backfill: refused: night {DAY - timedelta(days=2)} is before the home's first "
                            f"night {DAY} (the date of its first landing file): run nights from {DAY} on\n")
    assert not (home.state / "gates").exists()


def test_the_schedule_skips_a_night_whose_expected_feeds_have_not_landed(home):
    from lifecycle.pipelines.nightly import build_nightly_schedule

    write_reference(home)
    _expect(home, '["orders"]', "wait")
    nightly_schedule = build_nightly_schedule()
    tick = datetime(DAY.year, DAY.month, DAY.day + 1, 7, 30, tzinfo=UTC)
    from dagster import RunRequest, SkipReason, build_schedule_context

    skipped = nightly_schedule(build_schedule_context(scheduled_execution_time=tick))
    assert isinstance(skipped, SkipReason)
    assert skipped.skip_message.startswith(f"night {DAY} waits for its expected daily feed orders: "
                                           f"landing/orders/{DAY}.csv has not landed.")
    write_feed(home, "orders", DAY, [order()])
    run = nightly_schedule(build_schedule_context(scheduled_execution_time=tick))
    assert isinstance(run, RunRequest) and run.partition_key == DAY.isoformat()


# -- partitions and schedule ----------------------------------------------------------------------

def test_partitions_start_at_the_first_night_and_the_schedule_can_start_running(published_home, tmp_path):
    settings, _ = published_home
    probe = ("from lifecycle.definitions import defs\n"
             "job = defs.resolve_job_def('nightly')\n"
             "print(job.partitions_def.start.date(), defs.resolve_schedule_def('nightly_schedule').default_status.value)")
    env = {**os.environ, "LIFECYCLE_HOME": str(settings.home)}
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT,
                           timeout=300)
    assert shown.stdout.split() == [CUTOVER.isoformat(), "STOPPED"], shown.stderr
    # a home of its own, told to run the schedule: its partitions start at its first landing file
    other = tmp_path / "other"
    (other / "landing" / "orders").mkdir(parents=True)
    (other / "landing" / "orders" / "2026-05-04.csv").write_text("order_id\n")
    (other / "lifecycle.toml").write_text("[schedule]\nrunning = true\n")
    env["LIFECYCLE_HOME"] = str(other)
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT,
                           timeout=300)
    assert shown.stdout.split() == [date(2026, 5, 4).isoformat(), "RUNNING"], shown.stderr
