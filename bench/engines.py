"""Engine benchmark: each engine of the night (the chain walk, cash application, stock allocation) run alone, in
its own process, on a home's published warehouse (the night it holds), with its wall and CPU seconds, its peak
memory and the rows it wrote.

    .venv/bin/python bench/engines.py --home HOME [--batch N] [--out DIR] [--against DIR] [--only NAME]

The published warehouse is the build that night's engines read, so the outputs are that night's: ``--against
HOME/build/engine`` (what the night itself wrote) or a folder of an earlier run of this script says whether a change
to an engine moved a single row (same schema, same rows in the same order). ``--batch`` is the number of
subscriptions (customers, for cash application) an engine holds in memory at once: ``[engines] batch`` of
``lifecycle.toml``'s ``[warehouse]``, by default the home's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def hwm_mib() -> float:
    """This process's peak resident memory (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_one(home: Path, name: str, out: Path, batch: int | None) -> dict:
    """In the child: run one engine on the published warehouse, write ``out/<name>.parquet``."""
    import resource

    sys.path.insert(0, str(ROOT))
    from lifecycle.assets.billing import ENGINES as BILLING
    from lifecycle.assets.fulfillment import ENGINES as FULFILLMENT
    from lifecycle.io.dbt import DBT_PROJECT_DIR
    from lifecycle.io.warehouse import build_relations, last_published_date, write_engine_parts
    from lifecycle.settings import load_settings

    settings = load_settings(home)
    if batch is not None:
        settings = dataclasses.replace(settings, engine_batch=batch)
    engine = {e.name: e for e in (*BILLING, *FULFILLMENT)}[name]
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text(encoding="utf-8"))
    relations = {n["name"]: n["relation_name"] for n in manifest["nodes"].values()
                 if n["resource_type"] == "model" and n.get("relation_name")}
    day = last_published_date(settings)
    started, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    with build_relations(settings, {n: relations[n] for n in engine.inputs}, path=settings.warehouse) as inputs:
        rows = write_engine_parts(out / f"{name}.parquet", engine.run(settings, day, inputs, None), engine.parts,
                                  engine.schema, engine.number)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"engine": name, "night": day.isoformat(), "rows": rows, "wall": time.perf_counter() - started,
            "cpu": after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, "peak_mib": hwm_mib()}


def same(a: Path, b: Path) -> str:
    import pyarrow.parquet as pq

    if not b.exists():
        return f"no {b}"
    left, right = pq.read_table(a), pq.read_table(b)
    if left.schema != right.schema:
        return f"schemas differ: {left.schema} / {right.schema}"
    if left.num_rows != right.num_rows:
        return f"{left.num_rows} rows / {right.num_rows} rows"
    return "identical" if left.equals(right) else "same rows counted, contents differ"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--batch", type=int, help="subscriptions (customers) per batch; the home's setting if absent")
    parser.add_argument("--out", type=Path, help="where to write the outputs (a temporary folder if absent)")
    parser.add_argument("--against", type=Path, help="a folder of outputs to compare with, row for row")
    parser.add_argument("--only", action="append", help="an engine's name (repeatable)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.home.resolve(), args.one, args.out, args.batch)))
        return 0
    out = args.out or Path(tempfile.mkdtemp(prefix="engines-"))
    out.mkdir(parents=True, exist_ok=True)
    names = args.only or ["billing_chains", "cash_application", "continuity_shipments"]
    print(f"home {args.home}, outputs in {out}" + (f", batch {args.batch}" if args.batch else ""))
    print(f"{'engine':24} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9} {'rows':>12}")
    failed = 0
    for name in names:
        argv = [sys.executable, __file__, "--home", str(args.home), "--one", name, "--out", str(out)]
        if args.batch:
            argv += ["--batch", str(args.batch)]
        done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            print(f"{name:24} failed:\n{done.stderr[-3000:]}")
            failed += 1
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        line = f"{name:24} {r['wall']:8.1f} {r['cpu']:8.1f} {r['peak_mib']:9.0f} {r['rows']:12,}"
        if args.against:
            verdict = same(out / f"{name}.parquet", args.against / f"{name}.parquet")
            failed += verdict != "identical"
            line += f"   vs {args.against}: {verdict}"
        print(line, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
