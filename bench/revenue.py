"""Benchmark the revenue and ledger models: wall time, peak memory and row counts at N customers (cash
application, an engine asset, is not rerun: its table of the published night is reused).

    .venv/bin/python bench/revenue.py --customers 100000 [--home DIR]

The home is generated once and reused: if DIR has no published night yet, the sample publisher is
generated there (history START → END, migration load on END) and its cut-over night is run. Then the
published warehouse is copied to the build file and only the revenue and ledger models are rebuilt
on it with `dbt run` (one process, whose peak RSS includes DuckDB's), three times; the figures are
the median run. dbt's run_results give each model's seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = ROOT / "dbt_project"
MODELS = (
    "int_month_spine int_fx_rates_daily int_term_cancellations int_invoice_obligations int_ratable_segments "
    "int_cancellation_decisions "
    "fct_invoices fct_payment_applications fct_customer_credits "
    "int_revenue_obligations int_revenue_schedule_base int_credit_note_lines fct_credit_notes fct_refunds "
    "int_refund_lines fct_revenue_schedule int_journal_lines fct_journal_lines "
    "fct_journal_entries rpt_trial_balance rpt_earned_revenue rpt_ar_aging rpt_deferred_revenue_rollforward "
    "rpt_deferred_revenue_waterfall"
)


def measured(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of a child process and its children."""
    code = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        f"p = subprocess.run({argv!r}, capture_output=True, text=True)\n"
        "wall = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'rc': p.returncode, 'wall': wall, 'rss_kib': rss, 'out': p.stdout[-3000:]}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed:\n{result['out']}")
    return result["wall"], result["rss_kib"] / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 11, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 20))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()

    home = (args.home or Path(tempfile.mkdtemp(prefix="lifecycle-bench-revenue-"))).resolve()
    env = {**os.environ, "LIFECYCLE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "GX_ANALYTICS_ENABLED": "false"}
    lifecycle = [sys.executable, "-m", "lifecycle.cli", "--home", str(home)]
    dbt = str(Path(sys.executable).parent / "dbt")
    print(f"home {home}: {args.customers} customers, history {args.start} → {args.end}")
    published = home / "state" / "published.json"
    tables = json.loads(published.read_text())["tables"] if published.exists() else {}
    if "marts.fct_journal_lines" not in tables:  # none yet, or published by an older version: rebuild it
        if not any((home / "landing").glob("*/*.csv")):
            wall, rss = measured(lifecycle + ["generate", "--customers", str(args.customers), "--seed",
                                              str(args.seed), "--start", args.start.isoformat(), "--end",
                                              args.end.isoformat(), "--cutover", args.end.isoformat()], env, ROOT)
            print(f"generate: {wall:.1f} s, peak {rss:.0f} MiB")
        wall, rss = measured(lifecycle + ["nightly", "--date", args.end.isoformat()], env, ROOT)
        print(f"cut-over night {args.end} (ingest, whole dbt build, publish): {wall:.1f} s, peak {rss:.0f} MiB")
    vars_json = subprocess.run(
        [sys.executable, "-c", "import json, sys; from datetime import date; from lifecycle.settings import "
         f"get_settings; from lifecycle.io.warehouse import write_night; s = get_settings({str(home)!r}); "
         f"write_night(s, date.fromisoformat({args.end.isoformat()!r})); print(json.dumps(s.dbt_vars()))"],
        capture_output=True, text=True, check=True, cwd=ROOT, env=env,
    ).stdout.strip()
    build = home / "build" / "warehouse.duckdb"
    target = home / "build" / "bench_target"
    runs = []
    for _ in range(args.runs):
        build.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(home / "warehouse.duckdb", build)
        wall, rss = measured([dbt, "run", "--profiles-dir", str(DBT_DIR), "--target-path", str(target),
                              "--select", *MODELS.split(), "--vars", vars_json], env, DBT_DIR)
        results = json.loads((target / "run_results.json").read_text())
        runs.append((wall, rss, {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results["results"]}))
    wall = statistics.median(r[0] for r in runs)
    rss = statistics.median(r[1] for r in runs)
    import duckdb

    con = duckdb.connect(str(build), read_only=True)
    counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in (
        "staging.stg_customers", "intermediate.int_revenue_obligations", "marts.fct_revenue_schedule",
        "marts.fct_journal_entries", "marts.fct_journal_lines", "marts.rpt_trial_balance")}
    con.close()
    print(f"\nrevenue and ledger models (dbt run, median of {args.runs}): {wall:.1f} s wall, peak {rss:.0f} MiB")
    per_model = {m: statistics.median(r[2].get(m, 0.0) for r in runs) for m in MODELS.split()}
    for model, seconds in sorted(per_model.items(), key=lambda kv: -kv[1]):
        print(f"  {model:<36}{seconds:>8.2f} s")
    print("rows: " + ", ".join(f"{t.split('.')[-1]} {n:,}" for t, n in counts.items()))
    build.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
