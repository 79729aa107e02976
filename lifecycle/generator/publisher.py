"""``generate``: a home's landing files for a fictional publisher, the same bytes for the same arguments."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from lifecycle import settings as settings_module
from lifecycle.contract import FEEDS
from lifecycle.generator import people as people_module
from lifecycle.generator.badrows import Planter
from lifecycle.generator.calendar import Clock, day_number
from lifecycle.generator.catalogue import build_catalogue
from lifecycle.generator.delivery import Builder
from lifecycle.generator.landing import write_landing, write_migration_control
from lifecycle.generator.simulation import Simulation, acquisition_days

_CUTOVER_LINE = re.compile(r'^(cutover_date\s*=\s*)("[^"]*")([ \t]*)', re.MULTILINE)


def set_cutover(home: Path, cutover: date) -> None:
    """Set ``cutover_date`` in ``<home>/lifecycle.toml``, leaving the rest of the file as it is."""
    toml = home / "lifecycle.toml"
    content = toml.read_text(encoding="utf-8")
    if _CUTOVER_LINE.search(content):

        def replace(m: re.Match) -> str:
            value = f'"{cutover.isoformat()}"'
            # keep a trailing comment in its column when there is room
            pad = " " * max(1, len(m.group(2)) + len(m.group(3)) - len(value)) if m.group(3) else ""
            return f"{m.group(1)}{value}{pad}"

        content = _CUTOVER_LINE.sub(replace, content, count=1)
    elif re.search(r"^\[business\]\s*$", content, re.MULTILINE):
        content = re.sub(
            r"^\[business\]\s*$",
            f'[business]\ncutover_date = "{cutover.isoformat()}"',
            content,
            count=1,
            flags=re.MULTILINE,
        )
    else:
        content = content.rstrip("\n") + f'\n\n[business]\ncutover_date = "{cutover.isoformat()}"\n'
    toml.write_text(content, encoding="utf-8")
    settings_module.load_settings.cache_clear()


def generate(home: Path, customers: int, seed: int, start: date, end: date, cutover: date | None = None) -> dict:
    """Publish a deterministic sample history into ``home``: a migration load on ``cutover``, then daily files.

    Same arguments → byte-identical files (``numpy.random.default_rng(seed)``, no clock). Returns a
    summary: ``rows`` (data lines per feed), ``bad_rows`` (planted per rule), ``bad_rows_per_feed``,
    ``files`` (written, bad_rows.csv included), ``seconds``, and the arguments.
    """
    started = time.perf_counter()
    home = Path(home)
    cutover = cutover if cutover is not None else end - timedelta(days=7)
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if not start <= cutover <= end:
        raise ValueError(f"need start <= cutover <= end, got {start}, {cutover}, {end}")
    settings_module.init_home(home)
    existing = sorted((home / "landing").glob("*/*.csv"))
    if existing:
        raise FileExistsError(
            f"{home / 'landing'} already holds landing files (e.g. {existing[0]}); generate into an empty home"
        )
    set_cutover(home, cutover)
    timezone = settings_module.get_settings(home).timezone

    s, c, e = day_number(start), day_number(cutover), day_number(end)
    streams = [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(6)]
    clock = Clock(timezone, s - 800, e + 1600)
    reference = {
        f.name: f.column_names
        for f in FEEDS
        if f.name
        in (
            "products",
            "product_ssp",
            "credit_policies",
            "offers",
            "offer_components",
            "issue_schedules",
            "shippers",
            "shipper_routing",
            "fx_rates",
        )
    }
    catalogue = build_catalogue(streams[0], reference, customers, s, e, c)
    acquisition = acquisition_days(streams[1], customers, s, e)
    width = max(7, len(str(customers)) + 1)
    people = people_module.customers(streams[1], customers, width)
    simulation = Simulation(streams[2], catalogue, people, acquisition, s, e, c)
    simulation.run()
    history = simulation.history()
    builder = Builder(streams[3], catalogue, people, acquisition, history, clock, c, e)
    feeds = builder.build()
    bad = Planter(streams[4], clock, c, e, builder.cust_width, feeds).plant()
    files, lines, located = write_landing(home, feeds, bad, c, e)
    write_migration_control(home, feeds, c)
    files += 1
    return {
        "home": str(home),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "cutover": cutover.isoformat(),
        "customers": customers,
        "seed": seed,
        "rows": lines,  # data lines written per feed (planted bad rows included)
        "bad_rows": dict(sorted(Counter(r["rule"] for r in located).items())),  # planted per rule
        "bad_rows_per_feed": dict(sorted(Counter(r["feed"] for r in located).items())),
        "files": files + 1,  # landing files + generator/bad_rows.csv
        "seconds": round(time.perf_counter() - started, 3),
    }
