"""Benchmark the sample publisher: ``python bench/generate.py --customers 100000``.

Generates into a temporary home (kept with ``--keep``) and prints wall time, peak memory
(``resource.getrusage``) and rows per feed.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifecycle.generator import generate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2023, 12, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 30))
    parser.add_argument("--cutover", type=date.fromisoformat, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated home and print its path")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="lifecycle-bench-"))
    try:
        started = time.perf_counter()
        summary = generate(home, args.customers, args.seed, args.start, args.end, args.cutover)
        wall = time.perf_counter() - started
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        print(
            f"customers {args.customers:,}  seed {args.seed}  {args.start} .. {args.end}  cut-over {summary['cutover']}"
        )
        print(f"wall time {wall:.1f} s   peak memory {peak_mib:,.0f} MiB   files {summary['files']:,}")
        print(
            f"bad rows {sum(summary['bad_rows'].values()):,}: "
            + ", ".join(f"{rule} {n}" for rule, n in summary["bad_rows"].items())
        )
        print("rows per feed:")
        for name, rows in summary["rows"].items():
            print(f"  {name:20s} {rows:>10,}")
        print(f"  {'total':20s} {sum(summary['rows'].values()):>10,}")
        if args.keep:
            print(f"home kept at {home}")
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
