"""Scale benchmark: a home of N customers with years of history, its cut-over night (a full build) and the later
nights after it, each in its own process. For each night it prints wall and CPU seconds and the peak RSS of the
process tree, the seconds of each stage, and the ten slowest dbt models and engines with the rows they hold.

    .venv/bin/python bench/scale.py --customers 100000 [--years 5] [--nights 3] [--home DIR] [--reuse HOME]

``--reuse HOME`` measures again the landing files of a home generated before (at a million customers generating
takes minutes): its ``landing/`` is hard-linked and its ``lifecycle.toml`` copied into a fresh home, whose nights
then run from empty: its cut-over night (the toml's ``cutover_date``) and ``--nights`` nights after it. The figures say what a night costs as the history grows: run it at 100,000, 300,000 and
1,000,000 customers and compare the later nights.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nightly import LIFECYCLE, run_stage, step_durations  # noqa: E402  (bench/nightly.py, beside this file)

SLOWEST = 10


def node_seconds(dagster_home: Path) -> tuple[dict[str, list[tuple[float, str]]], dict[str, dict[str, int]]]:
    """By night: (seconds, name) of every dbt model and seed (their materializations' ``seconds``) and every engine
    (its step), slowest first; and the rows each engine wrote."""
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    from dagster import DagsterEventType, DagsterInstance

    instance = DagsterInstance.get()
    by_night: dict[str, list[tuple[float, str]]] = defaultdict(list)
    engine_rows: dict[str, dict[str, int]] = defaultdict(dict)
    for run in instance.get_runs():
        night = run.tags.get("dagster/partition", "?")
        for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
            materialization = entry.asset_materialization
            key, metadata = materialization.asset_key.path, materialization.metadata
            if "dbt_status" in metadata:  # a dbt model or seed of a build step
                by_night[night].append((float(metadata["seconds"].value), key[-1]))
            elif key[0] == "engine" and "rows" in metadata:
                engine_rows[night][f"engine__{key[-1]}"] = int(metadata["rows"].value)
        for stat in instance.get_run_step_stats(run.run_id):
            if stat.step_key.startswith("engine__") and stat.start_time and stat.end_time:
                by_night[night].append((stat.end_time - stat.start_time, stat.step_key))
    return {night: sorted(nodes, reverse=True) for night, nodes in by_night.items()}, engine_rows


def published_rows(home: Path) -> dict[str, int]:
    """Rows of each table of the published warehouse, by table name (``state/published.json``)."""
    path = home / "state" / "published.json"
    if not path.exists():
        return {}
    return {name.split(".")[-1]: rows for name, rows in json.loads(path.read_text())["tables"].items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=5, help="years of history before the last night")
    parser.add_argument("--nights", type=int, default=3, help="daily nights after the cut-over night")
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 20))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--reuse", type=Path, default=None, help="a home whose landing files to measure again")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="lifecycle-scale-"))
    start = args.end.replace(year=args.end.year - args.years)
    cutover = args.end - timedelta(days=args.nights)
    env = {**os.environ, "LIFECYCLE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "GX_ANALYTICS_ENABLED": "false"}
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    (home / "dagster" / "dagster.yaml").touch()
    stages = []
    if args.reuse:
        shutil.copytree(args.reuse / "landing", home / "landing", copy_function=os.link)
        shutil.copy2(args.reuse / "lifecycle.toml", home / "lifecycle.toml")
        from lifecycle.settings import get_settings

        cutover = get_settings(home).cutover_date  # the migration load: the first night must be it
        if cutover is None:
            raise SystemExit(f"{args.reuse}/lifecycle.toml has no cutover_date: not a generated home")
        end = cutover + timedelta(days=args.nights)
        print(f"home {home}: the landing files of {args.reuse}, cut-over {cutover}, {args.nights} nights after it")
    else:
        end = args.end
        print(f"home {home}: {args.customers} customers, history {start} → {end}, cut-over {cutover}, "
              f"{args.nights} daily nights after it")
        stages.append(run_stage("generate", LIFECYCLE + [
            "--home", str(home), "generate", "--customers", str(args.customers), "--seed", str(args.seed),
            "--start", start.isoformat(), "--end", end.isoformat(), "--cutover", cutover.isoformat()], env))
    rows: dict[str, dict[str, int]] = {}
    day = cutover
    while day <= end:
        stages.append(run_stage(f"night {day}", LIFECYCLE + ["--home", str(home), "nightly", "--date", day.isoformat()],
                                env))
        # a withheld night's tables are not published: its models' rows are not known (its engines' are)
        rows[day.isoformat()] = {} if stages[-1]["withheld"] else published_rows(home)
        day += timedelta(days=1)

    steps = step_durations(home / "dagster")
    nodes, engine_rows = node_seconds(home / "dagster")
    for night, written in engine_rows.items():
        rows.setdefault(night, {}).update(written)
    print()
    for s in stages:
        night = s["stage"].removeprefix("night ")
        withheld = " (withheld)" if s.get("withheld") else ""
        print(f"{s['stage']}{withheld}: {s['seconds']:.1f} s wall, {s['cpu']:.1f} CPU s, peak RSS "
              f"{s['peak_mib']:.0f} MiB")
        per = steps.get(night)
        if not per:
            continue
        print("  stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in per.items()
                                       if k not in ("events", "dbt parse", "run"))
              + f"; outside the run {s['seconds'] - per.get('run', 0):.1f} s")
        print(f"  slowest {SLOWEST}:")
        for seconds, name in nodes.get(night, [])[:SLOWEST]:
            held = rows.get(night, {}).get(name)
            print(f"    {seconds:8.2f} s  {name:<48}{'' if held is None else f'{held:>12,} rows'}")
    later = [s for s in stages if s["stage"].startswith("night ")][1:]
    if later:
        first = next(s for s in stages if s["stage"].startswith("night "))
        print(f"\ncut-over night {first['seconds']:.1f} s, peak {first['peak_mib']:.0f} MiB; later nights median "
              f"{statistics.median(s['seconds'] for s in later):.1f} s, peak "
              f"{max(s['peak_mib'] for s in later):.0f} MiB over {len(later)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
