"""Benchmark: generate a home of N customers, run its nights, print wall and CPU time and peak memory per stage.

    .venv/bin/python bench/nightly.py --customers 100000 [--nights 3] [--home DIR] [--warehouse postgres|spark]
                                      [--executors local[2]]

Each stage runs in its own process so its peak memory (the summed resident memory of its process tree: the night's
process, dbt inside it, and the suites' process beside it, sampled every 0.2 s) is its own. Within a night, the
Dagster event log gives each step's duration (summed per stage: ingest, engines, build, tests, exports, publish),
the Dagster events the night wrote, what parsing the dbt project cost, and the seconds the night's process spent
outside its Dagster run (starting: imports, the definitions, the instance; ending: the summary). A withheld night
(rc 1) is measured like any other and marked so.

With ``--warehouse postgres`` the home's nights also publish on the PostgreSQL server that libpq's environment
variables name (PGHOST, PGPORT, PGUSER, PGDATABASE): its load, build, tests and swap are the stage "postgres".
With ``--warehouse spark`` they also publish on Apache Spark (``--executors``: the master, local[2] by default):
its build, tests and publication are the stage "spark" ("of which engines": the engines' share, when they run on
Spark).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIFECYCLE = [sys.executable, "-m", "lifecycle.cli"]


#: Run in the stage's own process: the stage's command, and every 0.2 s the summed resident memory of the command's
#: process tree (a night's process, its suites' process and whatever they start), read from /proc. The kernel's own
#: peak for children (``RUSAGE_CHILDREN``) is the peak of the largest single process, not of the tree.
_STAGE = """
import json, os, resource, subprocess, sys, threading, time

PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root):
    children, rss = {}, {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/statm") as f:
                rss[int(pid)] = int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(int(fields[1]), []).append(int(pid))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


peak = 0
t = time.perf_counter()
p = subprocess.Popen(ARGV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
done = threading.Event()


def watch():
    global peak
    while not done.is_set():
        peak = max(peak, tree_rss(p.pid))
        done.wait(0.2)


watcher = threading.Thread(target=watch, daemon=True)
watcher.start()
out, err = p.communicate()
wall = time.perf_counter() - t
done.set()
watcher.join()
me = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": p.returncode, "wall": wall, "tree_bytes": peak, "rss_kib": me.ru_maxrss,
                  "cpu": me.ru_utime + me.ru_stime, "out": out[-4000:], "err": err[-4000:]}))
"""


def run_stage(name: str, argv: list[str], env: dict[str, str]) -> dict:
    """Run one stage in a child process; returns wall seconds, CPU seconds (user + system, its children included:
steadier than wall time on a shared machine) and the peak of the summed resident memory of its process tree in MiB
(sampled every 0.2 s; never below the largest single process's peak, which the kernel records)."""
    code = f"ARGV = {argv!r}\n" + _STAGE
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] not in (0, 1):  # 1: a withheld night, which ran every stage
        print(result["out"], result["err"], sep="\n", file=sys.stderr)
        raise SystemExit(f"stage {name} failed (exit {result['rc']})")
    peak_mib = max(result["tree_bytes"] / 2**20, result["rss_kib"] / 1024)
    return {"stage": name, "seconds": result["wall"], "cpu": result["cpu"], "peak_mib": peak_mib,
            "withheld": result["rc"] == 1}


def step_durations(dagster_home: Path) -> dict[str, dict[str, float]]:
    """Seconds per stage of every run in the instance, the events it wrote and the dbt parse seconds,
    keyed by partition (business date)."""
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    from dagster import DagsterEventType, DagsterInstance

    from lifecycle.pipelines.progress import SERVER_STEPS, STAGES, stage_of

    instance = DagsterInstance.get()
    by_night: dict[str, dict[str, float]] = {}
    for run in instance.get_runs():
        night = run.tags.get("dagster/partition", "?")
        steps = by_night.setdefault(night, {stage: 0.0 for stage in STAGES})
        for stat in instance.get_run_step_stats(run.run_id):
            if stat.start_time and stat.end_time:
                stage = (stat.step_key.removesuffix("_warehouse") if stat.step_key in SERVER_STEPS
                         else stage_of(stat.step_key))
                steps[stage] = steps.get(stage, 0.0) + stat.end_time - stat.start_time
        stats = instance.get_run_stats(run.run_id)
        if stats.start_time and stats.end_time:
            steps["run"] = steps.get("run", 0.0) + stats.end_time - stats.start_time
        steps["events"] = float(len(instance.all_logs(run.run_id)))
        for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
            engines = entry.asset_materialization.metadata.get("engines_seconds")
            if engines is not None and entry.asset_materialization.asset_key.path[-1] in SERVER_STEPS:
                steps["of which engines"] = float(engines.value)  # the engines on Spark ([warehouse] spark_engines)
        steps["dbt parse"] = sum(
            float(getattr(entry.asset_materialization.metadata.get("parse_seconds"), "value", 0.0) or 0.0)
            for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION))
    return by_night


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--nights", type=int, default=3, help="daily nights after the migration night")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2023, 11, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 20))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--warehouse", choices=("duckdb", "postgres", "spark"), default="duckdb",
                        help="[warehouse] kind of the home (postgres: the server from the PG* environment variables)")
    parser.add_argument("--executors", default="local[2]",
                        help="with --warehouse spark: the Spark master ([warehouse] spark_master)")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="lifecycle-bench-"))
    cutover = args.end - timedelta(days=args.nights)
    env = {**os.environ, "LIFECYCLE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "GX_ANALYTICS_ENABLED": "false"}
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    (home / "dagster" / "dagster.yaml").touch()
    print(f"home {home}: {args.customers} customers, history {args.start} → {args.end}, cut-over {cutover}, "
          f"{args.nights} daily nights after it")

    stages = [run_stage("generate", LIFECYCLE + ["--home", str(home), "generate", "--customers", str(args.customers),
                                                 "--seed", str(args.seed), "--start", args.start.isoformat(),
                                                 "--end", args.end.isoformat(), "--cutover", cutover.isoformat()],
                        env)]
    if args.warehouse != "duckdb":
        toml = home / "lifecycle.toml"
        text = toml.read_text(encoding="utf-8").replace('kind = "duckdb"', f'kind = "{args.warehouse}"')
        toml.write_text(text.replace('spark_master = "local[2]"', f'spark_master = "{args.executors}"'),
                        encoding="utf-8")
    day = cutover
    while day <= args.end:
        stages.append(run_stage(f"night {day}", LIFECYCLE + ["--home", str(home), "nightly", "--date", day.isoformat()],
                                env))
        day += timedelta(days=1)

    steps = step_durations(home / "dagster")
    landing_mib = sum(p.stat().st_size for p in (home / "landing").rglob("*.csv")) / 2**20
    published = home / "warehouse.duckdb"
    print()
    print(f"{'stage':<24}{'wall s':>9}{'CPU s':>8}{'peak MiB':>10}   per stage (s), Dagster events, dbt parse (s)")
    for s in stages:
        night = s["stage"].removeprefix("night ")
        per = steps.get(night, {})
        detail = ", ".join(f"{k} {v:.1f}" for k, v in per.items() if k not in ("events", "dbt parse", "run"))
        if per:
            detail += f"; {per.get('events', 0):.0f} events; parse {per.get('dbt parse', 0):.1f}"
            # the process around its Dagster run: imports, definitions, instance, lock, summary
            detail += f"; outside the run {s['seconds'] - per.get('run', 0):.1f}"
        label = s["stage"] + (" (withheld)" if s.get("withheld") else "")
        print(f"{label:<24}{s['seconds']:>9.1f}{s['cpu']:>8.1f}{s['peak_mib']:>10.0f}   {detail}")
    later = stages[2:]
    if later:
        print(f"cut-over night {stages[1]['seconds']:.1f} s ({stages[1]['cpu']:.1f} CPU s); later nights median "
              f"{statistics.median(s['seconds'] for s in later):.1f} s "
              f"({statistics.median(s['cpu'] for s in later):.1f} CPU s) over {len(later)}")
    print()
    if not published.exists():
        print(f"landing files: {landing_mib:.1f} MiB; no night was published (their gates: {home / 'state' / 'gates'})")
        return 0
    print(f"landing files: {landing_mib:.1f} MiB; published warehouse: {published.stat().st_size / 2**20:.1f} MiB")
    totals = json.loads((home / "state" / "published.json").read_text())["tables"]
    print("published rows: " + ", ".join(f"{k.split('.')[-1]} {v}" for k, v in totals.items()
                                          if k.split(".")[-1] in ("stg_customers", "stg_orders", "stg_payments",
                                                                  "fct_quarantined_rows")))
    print(f"bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
