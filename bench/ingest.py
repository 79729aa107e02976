"""Benchmark ingestion of one big landing file: peak memory against the file's size.

    .venv/bin/python bench/ingest.py [--megabytes 200] [--home DIR]

Generates a small sample home (2,000 customers), ingests every feed of its cut-over night but payments, then
writes that night's payments file again at the asked size: the sample's payments repeated with fresh ids (a
refund names its own copy's original, so the refund walk has its real shape). The payments file is ingested in
a child process, which reports its peak RSS (``VmHWM``) and the RSS it had before ingesting (imports); the
figure that matters is the peak over the file's size.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child would report its parent's peak (the generator's)
CHILD = """
import json, sys, time
from datetime import date
from lifecycle.settings import get_settings
from lifecycle.io.ingest import ingest_file
def hwm():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
settings = get_settings(sys.argv[1])
before = hwm()
t = time.perf_counter()
r = ingest_file(settings, "payments", date.fromisoformat(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - t, "before_kib": before, "peak_kib": hwm(),
                  "read": r.rows_read, "accepted": r.rows_accepted, "quarantined": r.rows_quarantined}))
"""


def big_payments(source: Path, target: Path, megabytes: int) -> int:
    """``source`` repeated with suffixed ids until ``target`` holds ``megabytes`` MiB; returns the data rows."""
    with source.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames, list(reader)
    written, copy = 0, 0
    with target.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        while out.tell() < megabytes * 1024 * 1024:
            suffix = f"-{copy:05d}"
            for row in rows:
                row = dict(row, payment_id=row["payment_id"] + suffix)
                if row["original_payment_id"]:
                    row["original_payment_id"] += suffix
                if row["processor_reference"]:
                    row["processor_reference"] += suffix
                writer.writerow(row)
                written += 1
            copy += 1
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()

    from lifecycle.contract import FEEDS
    from lifecycle.generator import generate
    from lifecycle.io.ingest import ingest_file
    from lifecycle.settings import get_settings, init_home

    home = args.home or Path(tempfile.mkdtemp(prefix="lifecycle-ingest-bench-"))
    init_home(home)
    summary = generate(home, customers=2000, seed=7, start=date(2023, 11, 1), end=date(2026, 11, 20),
                       cutover=date(2026, 11, 17))
    night = date.fromisoformat(str(summary["cutover"]))
    settings = get_settings(home)
    for contract in FEEDS:
        if contract.name != "payments":
            ingest_file(settings, contract.name, night)
    # the migration load's control totals describe the sample's file, not the grown one
    settings.landing_file("migration_control", night).unlink(missing_ok=True)
    landing = settings.landing_file("payments", night)
    original = landing.with_name(landing.name + ".orig")
    landing.replace(original)
    rows = big_payments(original, landing, args.megabytes)
    size_mib = landing.stat().st_size / 1024 / 1024
    print(f"home {home}: payments {night}, {size_mib:.0f} MiB, {rows:,} rows")

    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, str(home), night.isoformat()], capture_output=True, text=True,
                         cwd=ROOT)
    if out.returncode != 0:
        print(out.stdout, out.stderr, sep="\n", file=sys.stderr)
        return out.returncode
    r = json.loads(out.stdout.strip().splitlines()[-1])
    peak, before = r["peak_kib"] / 1024, r["before_kib"] / 1024
    print(f"ingest: {r['seconds']:.1f} s ({time.perf_counter() - started:.1f} s with the process start); "
          f"read {r['read']:,}, accepted {r['accepted']:,}, quarantined {r['quarantined']:,}")
    print(f"peak RSS {peak:,.0f} MiB = {peak / size_mib:.1f}x the file "
          f"(the process held {before:,.0f} MiB before ingesting; {(peak - before) / size_mib:.1f}x the file above that)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
