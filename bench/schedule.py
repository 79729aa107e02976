"""The revenue schedule against two textbook formulations, on the same obligations, in one sitting.

    .venv/bin/python bench/schedule.py --home HOME [--copies K] [--runs 3]

HOME is a home that ran a night (``bench/nightly.py`` makes one): its published ``int_revenue_obligations``,
``int_obligation_deliveries``, ``int_month_spine`` and night are copied K times (fresh obligation ids) into a
scratch warehouse, and three queries are materialised on it, each ``--runs`` times (the median is printed):

- **project**: ``int_revenue_schedule_base`` as dbt compiled it for the home (ratable months, deliveries before
  the stop, the remainder at the stop; amounts in cents and in money);
- **daily spine**: the ratable obligations spread over one row per day served (as the dbt revenue packages do),
  each day's share rounded cumulatively, summed per month;
- **month overlap**: the ratable obligations joined to the months they overlap, whole days per month, the running
  total rounded (the formulation docs/computations.md gives), ratable rows only.

The ratable months of all three are checked equal (cent for cent; the spine has no row for a month of 0.00) before
any time is printed, but for the obligations whose end a vacation hold moved (``int_ratable_segments``): the project
keeps what their days earned before the move, which neither textbook formulation knows; they are timed all the same.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

RATABLE = """
    select obligation_id, amount_cents, service_start, coalesce(service_stop, service_end) as stop_date,
        datediff('day', service_start, service_end) as term_days
    from intermediate.int_revenue_obligations
    where revenue_method = 'ratable_daily' and service_end is not null and service_end > service_start
"""

DAILY_SPINE = f"""
with ratable as ({RATABLE}),
days as (
    select ratable.obligation_id, ratable.amount_cents, ratable.term_days, cast(spine.day as date) as day,
        row_number() over (partition by ratable.obligation_id order by spine.day) as served
    from ratable, generate_series(ratable.service_start, ratable.stop_date - 1, interval 1 day) as spine(day)
),
cumulative as (
    select *, (2 * cast(amount_cents as hugeint) * served + term_days) // (2 * term_days) as cumulative_cents
    from days
),
per_day as (
    select obligation_id, day,
        cumulative_cents - coalesce(lag(cumulative_cents) over (partition by obligation_id order by day), 0) as cents
    from cumulative
)
select obligation_id, cast(date_trunc('month', day) as date) as service_month, sum(cents) as scheduled_cents
from per_day
group by obligation_id, service_month
"""

MONTH_OVERLAP = f"""
with ratable as ({RATABLE}),
months as (
    select ratable.obligation_id, ratable.amount_cents, ratable.term_days, spine.month_start as service_month,
        datediff('day', ratable.service_start, least(ratable.stop_date, spine.next_month_start)) as served
    from ratable
    inner join intermediate.int_month_spine as spine
        on spine.month_start < ratable.stop_date and spine.next_month_start > ratable.service_start
),
cumulative as (
    select *, (2 * cast(amount_cents as hugeint) * served + term_days) // (2 * term_days) as cumulative_cents
    from months
)
select obligation_id, service_month,
    cumulative_cents - coalesce(lag(cumulative_cents) over (partition by obligation_id order by service_month), 0)
        as scheduled_cents
from cumulative
"""


def scratch_warehouse(home: Path, folder: Path, copies: int) -> duckdb.DuckDBPyConnection:
    """The home's schedule inputs, K times over, in ``folder/warehouse.duckdb`` (the catalog name dbt compiled)."""
    con = duckdb.connect(str(folder / "warehouse.duckdb"))
    con.execute(f"attach '{home / 'warehouse.duckdb'}' as published (read_only)")
    for schema in ("intermediate", "marts"):
        con.execute(f"create schema {schema}")
    con.execute(f"""create table intermediate.int_revenue_obligations as
        select * replace (obligation_id || '#' || copy as obligation_id, invoice_id || '#' || copy as invoice_id)
        from published.intermediate.int_revenue_obligations, range({copies}) as copies(copy)""")
    con.execute(f"""create table intermediate.int_obligation_deliveries as
        select * replace (obligation_id || '#' || copy as obligation_id)
        from published.intermediate.int_obligation_deliveries, range({copies}) as copies(copy)""")
    con.execute(f"""create table intermediate.int_ratable_segments as
        select * replace (obligation_id || '#' || copy as obligation_id)
        from published.intermediate.int_ratable_segments, range({copies}) as copies(copy)""")
    con.execute("create table intermediate.int_month_spine as select * from published.intermediate.int_month_spine")
    con.execute("create table marts.warehouse_night as select * from published.marts.warehouse_night")
    con.execute("detach published")
    return con


def timed(con: duckdb.DuckDBPyConnection, name: str, sql: str, runs: int) -> float:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        con.execute(f"create or replace table {name} as {sql}")
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    compiled = (args.home / "state" / "dbt" / "compiled" / "subscription_lifecycle" / "models" / "intermediate"
                / "int_revenue_schedule_base.sql")
    if not compiled.exists():
        print(f"{compiled}: not found; run a night on the home first (bench/nightly.py)", file=sys.stderr)
        return 2
    project = compiled.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="lifecycle-schedule-") as folder:
        con = scratch_warehouse(args.home, Path(folder), args.copies)
        con.execute("set threads = 2")
        obligations, ratable = con.execute(
            "select count(*), count(*) filter (where revenue_method = 'ratable_daily') "
            "from intermediate.int_revenue_obligations").fetchone()
        results = {
            "project": timed(con, "project_schedule", project, args.runs),
            "daily spine": timed(con, "daily_spine", DAILY_SPINE, args.runs),
            "month overlap": timed(con, "month_overlap", MONTH_OVERLAP, args.runs),
        }
        differ = con.execute("""
            with moved as (select distinct obligation_id from intermediate.int_ratable_segments),
                 mine as (select obligation_id, service_month, scheduled_cents from project_schedule
                          where line_kind = 'ratable' and obligation_id not in (select obligation_id from moved)),
                 overlap as (select * from month_overlap
                             where obligation_id not in (select obligation_id from moved)),
                 spine as (select * from daily_spine where obligation_id not in (select obligation_id from moved)),
                 a as (select * from mine except all select * from overlap),
                 b as (select * from overlap except all select * from mine),
                 -- a term stopped on its first day has a month of 0.00 here and no day in the spine
                 c as (select * from mine where scheduled_cents <> 0 except all select * from spine),
                 d as (select * from spine except all select * from mine where scheduled_cents <> 0)
            select (select count(*) from a) + (select count(*) from b) + (select count(*) from c)
                + (select count(*) from d)""").fetchone()[0]
        moved = con.execute("select count(distinct obligation_id) from intermediate.int_ratable_segments").fetchone()[0]
        rows = {name: con.execute(f"select count(*) from {table}").fetchone()[0]
                for name, table in (("project", "project_schedule"), ("daily spine", "daily_spine"),
                                    ("month overlap", "month_overlap"))}
        con.close()
    if differ:
        print(f"the ratable months differ between the formulations ({differ} rows): no timing is meaningful")
        return 1
    print(f"{obligations} obligations ({ratable} ratable; the home's x {args.copies}); median of {args.runs} runs, "
          f"2 threads; ratable months equal in all three (but the {moved} whose end a hold moved)")
    print(f"{'formulation':<15}{'seconds':>9}{'rows':>12}")
    for name, seconds in results.items():
        print(f"{name:<15}{seconds:>9.2f}{rows[name]:>12}")
    print(f"daily spine / project {results['daily spine'] / results['project']:.1f}x; "
          f"project / month overlap {results['project'] / results['month overlap']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
