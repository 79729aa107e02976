"""The command line a scheduler, an operator or a developer types: ``lifecycle --help``.

Argument parsing and thin commands: a night, the backfill loop and the demo run in ``lifecycle.pipelines``
(night.py, backfill.py, demo.py), and what they print after the stage lines is in ``lifecycle.summary``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from lifecycle.pipelines.backfill import backfill
from lifecycle.pipelines.demo import DEMO_CUSTOMERS, DEMO_END, DEMO_START, run_demo, sample_processor
from lifecycle.pipelines.night import run_night
from lifecycle.settings import Settings, get_settings, init_home, load_settings, resolve_home
from lifecycle.summary import print_night, print_summary


def _use_home(home: str | None) -> Settings:
    path = resolve_home(home)
    init_home(path)
    os.environ["LIFECYCLE_HOME"] = str(path)
    load_settings.cache_clear()
    return get_settings(path)


class UserMistake(Exception):
    """A mistake on the command line: printed as one line on stderr, exit status 2, nothing created."""


def _date(text: str) -> date:
    """A date written YYYY-MM-DD, and only so (argparse prints the message as the option's error)."""
    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a date: write YYYY-MM-DD, e.g. 2026-11-24")


def _positive(text: str) -> int:
    """A whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _existing_home(home: str | None) -> Settings:
    """The home a read-only command reads: it must exist already (a mistyped --home creates nothing)."""
    path = resolve_home(home)
    if not (path / "lifecycle.toml").exists():
        raise UserMistake(f"no home at {path} (no lifecycle.toml there): check --home or $LIFECYCLE_HOME, "
                          f"or create one with `lifecycle --home {path} demo`")
    os.environ["LIFECYCLE_HOME"] = str(path)
    load_settings.cache_clear()
    return get_settings(path)


def cmd_generate(args: argparse.Namespace) -> int:
    from lifecycle.generator import generate

    settings = _use_home(args.home)
    summary = generate(settings.home, customers=args.customers, seed=args.seed, start=args.start, end=args.end,
                       cutover=args.cutover)
    print(json.dumps(summary, indent=1, default=str))
    return 0


def _progress(args: argparse.Namespace) -> Callable[[str], None] | None:
    """One line per stage on the terminal (not in the night's log, where dbt's output goes), unless --quiet."""
    if getattr(args, "quiet", False):
        return None
    out = sys.stdout
    return lambda line: print(line, file=out, flush=True)


def cmd_nightly(args: argparse.Namespace) -> int:
    settings = _use_home(args.home)
    outcome = run_night(settings, args.date, progress=_progress(args), full_refresh=args.full_refresh)
    print_night(outcome)
    if not args.quiet:
        print_summary(settings, [args.date])
    return 0 if outcome.success else 1  # a withheld night fails the run: the scheduler should say so


def cmd_backfill(args: argparse.Namespace) -> int:
    if args.end < args.start:
        raise UserMistake(f"--end {args.end} is before --start {args.start}: a backfill runs the nights from "
                          "--start to --end, in date order")
    settings = _use_home(args.home)
    outcomes = backfill(settings, args.start, args.end, progress=_progress(args))
    if not args.quiet:
        print_summary(settings, [o.business_date for o in outcomes])
    return 0 if outcomes and all(o.success for o in outcomes) else 1


def cmd_demo(args: argparse.Namespace) -> int:
    settings = _use_home(args.home)
    ok = run_demo(settings, customers=args.customers, seed=args.seed, force=args.force, progress=_progress(args))
    return 0 if ok else 1


def cmd_answer_refunds(args: argparse.Namespace) -> int:
    settings = _use_home(args.home)
    sample_processor(settings, args.date)
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    """Run one query on the published warehouse, read-only (no host files, no writes)."""
    import duckdb

    from lifecycle.io.warehouse import connect_published

    con = connect_published(_existing_home(args.home))
    try:
        con.sql(args.query).show(max_rows=args.max_rows, max_width=200)
    except duckdb.Error as exc:
        print(f"query refused: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """One table of the published warehouse out as CSV or Parquet: every row and column."""
    from lifecycle.io.extract import ExtractRefused, export_table

    settings = _existing_home(args.home)
    fmt, target = ("parquet", args.parquet) if args.parquet else ("csv", args.csv)
    out = None if target == "-" else Path(target)
    if out is None and fmt == "parquet":
        raise UserMistake("--parquet needs a file name (Parquet is not written to standard output)")
    if out is not None and not out.parent.is_dir():
        raise UserMistake(f"{out.parent} is not a folder: give --{fmt} a file in an existing folder")
    try:
        result = export_table(settings, args.table, where=args.where, fmt=fmt, out=out)
    except ExtractRefused as exc:
        raise UserMistake(str(exc)) from None
    except FileNotFoundError as exc:
        print(f"lifecycle export: {exc}", file=sys.stderr)
        return 1
    print(f"{result.table}: {result.rows} rows, {result.columns} columns of published night {result.night}"
          + (f" written to {result.path}" if result.path else ""), file=sys.stderr)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """The home at a glance: the published night, the last night's gates, quarantine, the next night, exports."""
    from lifecycle.status import home_status, status_lines

    settings = _existing_home(args.home)
    status = home_status(settings)
    if args.json:
        print(json.dumps(status, indent=1, sort_keys=True))
    else:
        print("\n".join(status_lines(status)))
    night = status["latest_night"]
    return 0 if night is None or night["state"] != "withheld" else 1


CUSTOMER_FLAGS = ("email_opt_in", "mail_opt_in", "do_not_contact", "deceased", "undeliverable")


def cmd_customer(args: argparse.Namespace) -> int:
    """Print a customer's name, segment and flags, then their timeline (marts.fct_customer_timeline)."""
    import duckdb

    from lifecycle.io.warehouse import connect_published, last_published_date

    settings = _existing_home(args.home)
    try:
        con = connect_published(settings)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        customer = con.execute(
            "select first_name, last_name, organisation, segment, " + ", ".join(CUSTOMER_FLAGS)
            + " from staging.stg_customers where is_current and customer_id = ?", [args.customer_id]).fetchone()
        if customer is None:
            print(f"unknown customer {args.customer_id!r} (published night {last_published_date(settings)})",
                  file=sys.stderr)
            return 1
        where = "customer_id = ?" + (" and event_date >= ?" if args.since else "")
        params = [args.customer_id] + ([args.since] if args.since else [])
        total = con.execute(f"select count(*) from marts.fct_customer_timeline where {where}", params).fetchone()[0]
        events = con.execute(
            f"select event_date, event_type, description from marts.fct_customer_timeline where {where} "
            "order by event_sequence desc limit ?", [*params, args.limit if args.limit is not None else total]
        ).fetchall()[::-1]
    except duckdb.Error as exc:
        print(f"query refused: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    first, last, organisation, segment, *flags = customer
    name = " ".join(part for part in (first, last) if part) + (f" ({organisation})" if organisation else "")
    set_flags = [flag for flag, value in zip(CUSTOMER_FLAGS, flags, strict=True) if value]
    print(f"{args.customer_id}  {name}  segment {segment}  flags: {', '.join(set_flags) or 'none'}")
    print(f"timeline as of night {last_published_date(settings)}: {total} event{'s' if total != 1 else ''}"
          + (f" since {args.since}" if args.since else "")
          + (f", the latest {len(events)} shown" if len(events) < total else ""))
    for event_date, event_type, description in events:
        print(f"{event_date}  {event_type:<20}{description}")
    return 0


def _read_new_password(name: str) -> str:
    """The new password: typed twice at a terminal, else the first line of standard input (for scripts)."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(f"password for {name}: ")
    if getpass.getpass("again: ") != password:
        raise ValueError("the two passwords differ")
    return password


def cmd_serve(args: argparse.Namespace) -> int:
    """The ops download page; or, with --add-user/--remove-user, manage who may log in to it."""
    import ipaddress
    import secrets

    from lifecycle.web.users import read_users, remove_user, write_user

    settings = _use_home(args.home)
    try:
        if args.add_user:
            write_user(settings.ops_users, args.add_user, _read_new_password(args.add_user))
            print(f"user {args.add_user} can log in (hash written to {settings.ops_users})")
            return 0
        if args.remove_user:
            removed = remove_user(settings.ops_users, args.remove_user)
            print(f"user {args.remove_user} {'removed from' if removed else 'is not in'} {settings.ops_users}")
            return 0 if removed else 1
        users = read_users(settings.ops_users)
    except ValueError as exc:  # a bad name, a short password, an unreadable users file
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    host, port = args.host or settings.serve_host, args.port or settings.serve_port
    dev_password = None
    if args.dev:
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            print(f"serve: --dev listens on this machine only (127.0.0.1, ::1 or localhost), not {host}",
                  file=sys.stderr)
            return 2
        dev_password = secrets.token_urlsafe(12)
        print(f"DEVELOPMENT MODE: log in at http://{host}:{port}/ as user 'dev' with the one-time password "
              f"{dev_password}\n(it lives in this process only; add real users with --add-user)", flush=True)
    elif not users:
        print(f"serve: no users in {settings.ops_users}; nobody could log in. Add one with\n"
              f"  lifecycle --home {settings.home} serve --add-user NAME\n"
              "or try the page on this machine with a one-time password: lifecycle serve --dev", file=sys.stderr)
        return 2
    from lifecycle.web.app import serve

    serve(settings, host=host, port=port, dev_password=dev_password)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Reports from the published warehouse: the renewal cohorts, the month-end close pack."""
    from lifecycle.reports import write_renewal_report

    settings = _existing_home(args.home)
    if args.name == "close":
        return _close_pack(args, settings)
    if args.period:
        raise UserMistake("--period is for `report close`; `report renewals` draws every cohort of the published night")
    try:
        report = write_renewal_report(settings, Path(args.out) if args.out else None)
    except FileNotFoundError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    print(f"renewal cohorts: {report.cohorts} rows\n  {report.html}\n  {report.png}")
    return 0


def _close_pack(args: argparse.Namespace, settings: Settings) -> int:
    from lifecycle.close_pack import write_close_pack

    if not args.period:
        raise UserMistake("report close needs the period: --period YYYY-MM, e.g. --period 2026-11")
    try:
        pack = write_close_pack(settings, args.period, Path(args.out) if args.out else None)
    except ValueError as exc:
        raise UserMistake(str(exc)) from None
    except FileNotFoundError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    fc = pack.functional_currency
    print(f"close pack {pack.period} (night {pack.night}, period {'closed' if pack.closed else 'open'}): "
          f"debits {pack.trial_balance_debits:,.2f} {fc} = credits {pack.trial_balance_credits:,.2f} {fc}; "
          f"tax payable {pack.tax_payable_total:,.2f} {fc}; refunds payable {pack.refunds_payable:,.2f} {fc}; "
          f"tie-outs {'held' if pack.tie_outs_held else 'DID NOT HOLD'}\n  {pack.html}"
          + "".join(f"\n  {png}" for png in pack.pngs))
    return 0 if pack.tie_outs_held else 1


def cmd_prepare(args: argparse.Namespace) -> int:
    """Parse the dbt project into the machine's parse cache for a home's settings (the default settings when the
    home does not exist yet), so that the home's first night parses nothing. `make install` runs it."""
    import tempfile
    import time

    from lifecycle.io import dbt
    from lifecycle.settings import DEFAULT_TOML, parse_settings

    path = resolve_home(getattr(args, "home", None))
    with tempfile.TemporaryDirectory(prefix="lifecycle-prepare-") as scratch:
        # the home's own settings if it has them; else the defaults, with the dbt target in a scratch folder
        settings = (get_settings(path) if (path / "lifecycle.toml").exists()
                    else parse_settings(Path(scratch), DEFAULT_TOML))
        where = dbt.cache_dir(settings)
        cached = dbt.cached_parse(settings).exists()
        started = time.perf_counter()
        dbt.manifest(settings)
        settings.build_dir.mkdir(parents=True, exist_ok=True)  # dbt compiles connected to a build
        tests = dbt.compiled_tests(settings)  # and the data tests that compile alike for every home
        dbt.forget_manifests()
    print(f"dbt project {'parse reused' if cached else 'parsed'}, {len(tests)} data tests ready, in "
          f"{time.perf_counter() - started:.1f} s: kept in {where}")
    return 0


def cmd_contract(args: argparse.Namespace) -> int:
    from lifecycle.contract_render import rendered_files, write_rendered

    if args.write:
        for path in write_rendered():
            print(f"wrote {path}")
        return 0
    stale = [p for p, text in rendered_files().items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    for path in stale:
        print(f"out of date: {path} (run `lifecycle contract --write`)")
    return 1 if stale else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lifecycle", description="Nightly batch system for subscription businesses.")
    parser.add_argument("--home", help="home folder (default: $LIFECYCLE_HOME, else ./var)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="write a deterministic sample publisher's landing files")
    p.add_argument("--customers", type=_positive, default=DEMO_CUSTOMERS, help="customers to generate")
    p.add_argument("--seed", type=int, default=7, help="random seed (the same seed gives the same files)")
    p.add_argument("--start", type=_date, default=DEMO_START, help="first day of history (YYYY-MM-DD)")
    p.add_argument("--end", type=_date, default=DEMO_END, help="last day of history (YYYY-MM-DD)")
    p.add_argument("--cutover", type=_date, default=None,
                   help="migration load date, YYYY-MM-DD (default: end − 7 days)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("nightly", help="run night D: ingest, build, audit, publish")
    p.add_argument("--date", type=_date, required=True, help="the business date D (YYYY-MM-DD)")
    p.add_argument("--full-refresh", action="store_true",
                   help="compute the night from its inputs alone, reusing nothing an earlier night kept (the same "
                        "result, slower)")
    p.set_defaults(func=cmd_nightly)

    p = sub.add_parser("backfill", help="run the nights D1..D2 one after another, in date order")
    p.add_argument("--start", type=_date, required=True, help="first night (YYYY-MM-DD)")
    p.add_argument("--end", type=_date, required=True, help="last night, on or after --start (YYYY-MM-DD)")
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("demo", help="generate a small home, backfill it and print a summary")
    p.add_argument("--customers", type=_positive, default=DEMO_CUSTOMERS, help="customers to generate")
    p.add_argument("--seed", type=int, default=7, help="random seed")
    p.add_argument("--force", action="store_true", help="wipe the home's data and generate again")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("answer-refunds", help="the sample processor: answer night D's refund requests in a later "
                       "payments landing file (sample homes only)")
    p.add_argument("--date", type=_date, required=True, help="the night whose requests are answered (YYYY-MM-DD)")
    p.set_defaults(func=cmd_answer_refunds)

    p = sub.add_parser("sql", help="query the published warehouse read-only")
    p.add_argument("query", help="one SQL query, e.g. \"select * from marts.rpt_feed_quality\"")
    p.add_argument("--max-rows", type=_positive, default=40, help="rows shown (default 40)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("export", help="one table of the published warehouse, every row and column, as CSV or "
                       "Parquet (for a spreadsheet or a BI tool)")
    p.add_argument("table", help="schema.table, or a table name found in one schema, e.g. marts.rpt_trial_balance")
    p.add_argument("--where", help="a SQL condition on the table's columns, e.g. \"period = '2026-11'\"")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--csv", metavar="FILE", help="write CSV to FILE (- for standard output): exact decimals, "
                        "ISO dates, formula-looking text neutralised")
    target.add_argument("--parquet", metavar="FILE", help="write Parquet to FILE, the warehouse's types kept")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("status", help="the home at a glance: published night, last night's gates, quarantine, "
                       "expected feeds of the next night, last exports (exit 1 when the last night was withheld)")
    p.add_argument("--json", action="store_true", help="the same as one JSON object, for monitoring")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("customer", help="a customer's name, segment, flags and timeline, from the published warehouse")
    p.add_argument("customer_id", help="the customer's id, e.g. C0000042")
    p.add_argument("--since", type=_date, help="only events on or after this date (YYYY-MM-DD)")
    p.add_argument("--limit", type=_positive, help="only the latest N events (still printed oldest first)")
    p.set_defaults(func=cmd_customer)

    p = sub.add_parser("serve", help="the ops download page: export files behind a login, every download recorded")
    p.add_argument("--host", help="address to listen on (default: [serve] host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: [serve] port, 8080)")
    p.add_argument("--dev", action="store_true",
                   help="also accept user 'dev' with a one-time password printed here; listens on loopback only")
    users = p.add_mutually_exclusive_group()
    users.add_argument("--add-user", metavar="NAME", help="add a user (or change its password) and exit; "
                       "the password is asked twice, or read from standard input's first line")
    users.add_argument("--remove-user", metavar="NAME", help="remove a user and exit")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("report", help="write a report from the published warehouse (HTML and PNG)")
    p.add_argument("name", choices=["renewals", "close"],
                   help="renewals: renewal rate by cohort month and converting effort; close: the month-end close "
                   "pack of --period (trial balance, deferred revenue, earned revenue, AR aging, tax, refunds, "
                   "tie-outs)")
    p.add_argument("--period", help="close: the accounting period, YYYY-MM (e.g. 2026-11)")
    p.add_argument("--out", help="folder to write to (default: <home>/reports/renewals/<published night>/ or "
                   "<home>/reports/close/<period>/)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("contract", help="check (or --write) the files generated from the feed contract")
    p.add_argument("--write", action="store_true", help="regenerate the files instead of checking them")
    p.set_defaults(func=cmd_contract)

    p = sub.add_parser("prepare", help="parse the dbt project once for the machine (a new home's first night then "
                       "parses nothing); make install runs it")
    p.set_defaults(func=cmd_prepare)

    for name in ("generate", "nightly", "backfill", "demo", "answer-refunds", "sql", "export", "status", "customer",
                 "serve", "report", "prepare"):
        sub.choices[name].add_argument("--home", default=argparse.SUPPRESS, help="home folder")
    for name in ("nightly", "backfill", "demo"):
        sub.choices[name].add_argument("--quiet", action="store_true",
                                       help="no stage lines (and for nightly and backfill no summary): one line a night and its gates, for cron")

    try:
        args = parser.parse_args(argv)
        from lifecycle.io.landing import NightNotReady
        from lifecycle.io.lock import NightRunning

        try:
            return args.func(args)
        except NightRunning as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 75  # EX_TEMPFAIL: try again later
        except NightNotReady as exc:
            print(f"lifecycle {args.command}: refused: {exc}", file=sys.stderr)
            return exc.exit_status
        except UserMistake as exc:
            print(f"lifecycle {args.command}: {exc}", file=sys.stderr)
            return 2
    except BrokenPipeError:
        # the reader went away (`lifecycle sql … | head`): stop quietly, as a Unix filter does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def entry() -> None:  # pragma: no cover - the console script, and `python -m lifecycle.cli`
    """Run a command and end the process at once. Everything a command writes is written and closed when ``main``
    returns (DuckDB files, Parquet, the event log's committed write-ahead log); what Python would still do at
    exit is join the suites' process and tear down the thousands of modules a night imported (dbt, Dagster,
    pandas): 1.5–2 s of a 2,000-customer night spent after its last line."""
    import logging

    try:
        status = main()
    except SystemExit as exc:  # argparse's --help and usage errors
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    suites = sys.modules.get("lifecycle.checks.gx_suites")  # a command that ran no night never started the worker
    if suites is not None:
        suites.stop_suite_worker()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    entry()
