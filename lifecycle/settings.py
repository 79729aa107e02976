"""Every path and knob of a home, read once from ``<home>/lifecycle.toml`` (defaults documented below).

The home is ``--home DIR``, else ``$LIFECYCLE_HOME``, else ``./var``. Its layout::

    lifecycle.toml      settings (written with the defaults on first use)
    landing/<feed>/<D>.csv   files as delivered, one per feed and recorded date
    raw/<feed>/recorded_date=<D>/data.parquet         accepted rows
    quarantine/<feed>/recorded_date=<D>/data.parquet  refused rows, with file, line, column, rule
    state/               landing checksums, the published-night record and the export register
    build/warehouse.duckdb   tonight's warehouse while dbt builds and the checks audit it
    warehouse.duckdb     the published warehouse (read-only for finance)
    exports/             files for shippers, processors and the GL
    ops_users.toml       users of the ops download page (``lifecycle serve --add-user``), scrypt hashes only
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path

DEFAULT_HOME = Path("var")

#: The defaults, written as the first ``lifecycle.toml`` of a new home. Each key is documented here.
DEFAULT_TOML = """\
# subscription-lifecycle settings. Every key is optional; these are the defaults.

[business]
functional_currency = "USD"          # currency of the ledger's functional amounts
timezone = "America/New_York"        # an event's business date is taken in this zone
calendar_start = "2020-01-01"        # earliest period the closed-period audit compares
cutover_date = ""                    # date of the migration load ("" = no migration)
first_night = ""                     # first night the Dagster partitions show ("" = the cut-over date, else
                                     # the date of the first landing file)

[schedule]
cron = "30 2 * * *"                  # nightly run for the previous business date, in the timezone above
running = false                      # true: the schedule starts in the running state (Dagster's daemon runs it)

[feeds]
# Feeds a night waits for: the files the order system and the payment processor send every day (a day
# without events still sends its header line). A night whose expected file is missing, by `when_missing`:
#   "wait"  refuses to start (exit status 75), naming the missing files: run it again once they landed;
#   "warn"  runs without them, with a warning the night's summary and `lifecycle status` show.
expected_daily = ["orders", "payments", "cancellations", "suspensions", "service_actions", "interactions"]
when_missing = "wait"

[billing]
billing_effort_offsets = [0, 21, 42, 63]     # days after the invoice date
billing_suspension_days = 14                 # after the last effort
nonpayment_cancel_days = 60                  # after suspension
unpaid_ship_allowance_issues = 2
autocharge_lead_days = 5
autocharge_retry_offsets = [3, 7]            # days after the first attempt
autocharge_access_grace_days = 10
writeoff_account = "bad_debt_expense"

[communications]
upcoming_autocharge_days = 7         # the "we will charge your card" message, days before attempt 1
webhook_url = ""                     # POST each day's outbox messages here ("" = no delivery)
webhook_max_attempts = 4             # per message; retried on 408/425/429/5xx and connection errors

[ledger]
# GL account codes by posting account (see dbt_project/seeds/chart_of_accounts.csv), e.g.
# account_codes = { accounts_receivable = "11000", deferred_revenue = "24000" }
account_codes = {}

[renewals]
renewal_notice_offsets = [-60, -30, -7, 0, 14]   # days from the term end, in order
renewal_grace_issues = 1
# The offer a renewal notice proposes: these rules replace dbt_project/seeds/renewal_offer_rules.csv
# (first match by priority; an absent condition matches anything), e.g.
# offer_rules = [
#   { rule_id = "R-STUDENT", priority = 5, segment = "student", action = "same_offer" },
#   { rule_id = "R-BELOW", priority = 20, price_position = "below_list", action = "next_in_chain" },
#   { rule_id = "R-ANY", priority = 99, action = "same_offer" },
# ]
offer_rules = []

[close]
# Period-close calendar: a period (YYYY-MM) is closed on every night on or after its close date.
# periods = { "2026-10" = "2026-11-05" }
periods = {}

[warehouse]
# DuckDB's resources for a night (dbt's build, the engines, the checks). Past memory_limit DuckDB spills to
# temp_directory instead of failing; the defaults leave room beside it on a small (2-core, 8 GB) machine.
memory_limit = "4GB"                 # e.g. "4GB", "12GiB", "75%" (of the machine's memory)
threads = 2                          # DuckDB's worker threads
temp_directory = ""                  # "" = <home>/build/spill
# The billing engines walk this many subscriptions (cash application: customers) at a time: what they hold in
# memory follows the batch, not the history. Larger is a little faster, smaller holds less.
engine_batch = 25000
# "postgres": every published night is also built by dbt on a PostgreSQL server, tested there and swapped in
# atomically (schemas staging, intermediate, marts). The server comes from libpq's environment variables
# (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD or ~/.pgpass), never from this file.
# "spark": every published night is also built by dbt on Apache Spark, tested there and published by switching
# spark_warehouse's "published" link to it (needs the spark extra and Java).
kind = "duckdb"
finance_role = "finance"             # on Postgres: the role that may read the published marts and nothing else
spark_master = "local[2]"            # on Spark: local[N], or a cluster: spark://host:7077, yarn, k8s://…
spark_warehouse = ""                 # on Spark: the tables' folder, "" = <home>/spark-warehouse
spark_memory = "4g"                  # on Spark: the driver's memory (local[N]: where the executors run too)
spark_conf = {}                      # on Spark: more of Spark's settings, e.g. { "spark.executor.memory" = "8g" }
spark_engines = true                 # on Spark: the billing engines run there too, by customer (false: read DuckDB's)

[serve]
# The ops download page (`lifecycle serve`). Users live in ops_users.toml beside this file.
host = "127.0.0.1"                   # put it behind a TLS reverse proxy to reach it from other machines
port = 8080
session_hours = 12                   # a login lasts this long
https_only = false                   # true behind HTTPS: the session cookie is then sent over HTTPS only
"""


#: The feeds a night waits for unless ``[feeds] expected_daily`` says otherwise (kept equal to DEFAULT_TOML's list).
#: where finance's warehouse lives: the DuckDB file alone, or also a PostgreSQL server (lifecycle.io.postgres) or
#: Apache Spark (lifecycle.io.spark)
WAREHOUSE_KINDS = ("duckdb", "postgres", "spark")
DEFAULT_EXPECTED_DAILY = ("orders", "payments", "cancellations", "suspensions", "service_actions", "interactions")


@dataclass(frozen=True)
class Settings:
    home: Path
    functional_currency: str = "USD"
    timezone: str = "America/New_York"
    calendar_start: date = date(2020, 1, 1)
    cutover_date: date | None = None
    first_night_setting: date | None = None
    schedule_cron: str = "30 2 * * *"
    schedule_running: bool = False
    expected_daily: tuple[str, ...] = DEFAULT_EXPECTED_DAILY
    when_missing: str = "wait"
    billing_effort_offsets: tuple[int, ...] = (0, 21, 42, 63)
    billing_suspension_days: int = 14
    nonpayment_cancel_days: int = 60
    unpaid_ship_allowance_issues: int = 2
    autocharge_lead_days: int = 5
    autocharge_retry_offsets: tuple[int, ...] = (3, 7)
    autocharge_access_grace_days: int = 10
    writeoff_account: str = "bad_debt_expense"
    renewal_notice_offsets: tuple[int, ...] = (-60, -30, -7, 0, 14)
    renewal_grace_issues: int = 1
    renewal_offer_rules: tuple[dict[str, object], ...] = ()
    upcoming_autocharge_days: int = 7
    webhook_url: str = ""
    webhook_max_attempts: int = 4
    account_codes: dict[str, str] = field(default_factory=dict)
    period_close: dict[str, date] = field(default_factory=dict)
    serve_host: str = "127.0.0.1"
    serve_port: int = 8080
    serve_session_hours: int = 12
    serve_https_only: bool = False
    duckdb_memory_limit: str = "4GB"
    duckdb_threads: int = 2
    duckdb_temp_setting: str = ""
    warehouse_kind: str = "duckdb"  # "postgres", "spark": each published night is also built, audited and published there
    finance_role: str = "finance"
    spark_master: str = "local[2]"
    spark_warehouse_setting: str = ""
    spark_memory: str = "4g"
    spark_conf: dict[str, str] = field(default_factory=dict)
    spark_engines: bool = True  # on Spark, the engines run there (lifecycle.io.spark_engines), not read from DuckDB's
    engine_batch: int = 25_000

    # --- paths -------------------------------------------------------------------------
    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def raw(self) -> Path:
        return self.home / "raw"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def state(self) -> Path:
        return self.home / "state"

    @property
    def exports(self) -> Path:
        return self.home / "exports"

    @property
    def ops_users(self) -> Path:
        return self.home / "ops_users.toml"

    @property
    def serve_state(self) -> Path:
        """The ops page's session secret and its audit log of logins and downloads."""
        return self.state / "serve"

    @property
    def build_dir(self) -> Path:
        return self.home / "build"

    @property
    def build_warehouse(self) -> Path:
        return self.build_dir / "warehouse.duckdb"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def spark_warehouse(self) -> Path:
        """The Spark warehouse's folder (``[warehouse] spark_warehouse``): its nights and the ``published`` link."""
        return Path(self.spark_warehouse_setting) if self.spark_warehouse_setting else self.home / "spark-warehouse"

    @property
    def duckdb_temp_directory(self) -> Path:
        """Where DuckDB spills what does not fit in ``duckdb_memory_limit``: ``[warehouse] temp_directory``, else
        ``<home>/build/spill``."""
        return Path(self.duckdb_temp_setting) if self.duckdb_temp_setting else self.build_dir / "spill"

    def duckdb_config(self) -> dict[str, str]:
        """DuckDB's settings for every connection of a night: ``SET name = value`` each, and the same values in the
        dbt profile (``duckdb_env``)."""
        return {"memory_limit": self.duckdb_memory_limit, "threads": str(self.duckdb_threads),
                "temp_directory": str(self.duckdb_temp_directory)}

    def duckdb_env(self) -> dict[str, str]:
        """The environment the dbt profile reads the same settings from (profiles.yml, target build)."""
        return {"LIFECYCLE_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
                "LIFECYCLE_DUCKDB_THREADS": str(self.duckdb_threads),
                "LIFECYCLE_DUCKDB_TEMP_DIRECTORY": str(self.duckdb_temp_directory)}

    def landing_file(self, feed: str, business_date: date) -> Path:
        return self.landing / feed / f"{business_date.isoformat()}.csv"

    def first_night(self) -> date | None:
        """The home's first night: ``first_night`` when set, else the cut-over date, else the date of the
        earliest landing file; None for a home with neither a cut-over nor a landing file."""
        if self.first_night_setting is not None:
            return self.first_night_setting
        if self.cutover_date is not None:
            return self.cutover_date
        dates = []
        for path in self.landing.glob("*/*.csv"):
            try:
                dates.append(date.fromisoformat(path.stem))
            except ValueError:  # not a landing file name; ingestion names it when its feed runs
                continue
        return min(dates, default=None)

    def missing_feeds(self, night: date) -> list[str]:
        """The expected daily feeds with no landing file for ``night``."""
        return [feed for feed in self.expected_daily if not self.landing_file(feed, night).exists()]

    def dbt_vars(self) -> dict[str, object]:
        """Settings handed to dbt as ``--vars`` (dbt_project.yml holds the same defaults).

        The same every night of a home, so dbt's partial parse survives from night to night: the business
        date reaches the models through the pipeline's night source instead (lifecycle/assets/warehouse.py).
        """
        return {
            "business_timezone": self.timezone,
            "functional_currency": self.functional_currency,
            "cutover_date": self.cutover_date.isoformat() if self.cutover_date else "",
            "opening_date": self.opening_date.isoformat() if self.opening_date else "",
            "billing_effort_offsets": list(self.billing_effort_offsets),
            "billing_suspension_days": self.billing_suspension_days,
            "nonpayment_cancel_days": self.nonpayment_cancel_days,
            "unpaid_ship_allowance_issues": self.unpaid_ship_allowance_issues,
            "autocharge_lead_days": self.autocharge_lead_days,
            "autocharge_retry_offsets": list(self.autocharge_retry_offsets),
            "autocharge_access_grace_days": self.autocharge_access_grace_days,
            "renewal_grace_issues": self.renewal_grace_issues,
            "renewal_notice_offsets": list(self.renewal_notice_offsets),
            "renewal_offer_rules": [dict(rule) for rule in self.renewal_offer_rules],
            "upcoming_autocharge_days": self.upcoming_autocharge_days,
            "writeoff_account": self.writeoff_account,
            "account_code_overrides": dict(sorted(self.account_codes.items())),
        }

    def engine_knobs(self, business_date: date) -> dict[str, object]:
        """What the engines (lifecycle/assets/billing.py, fulfillment.py) are run with: dbt's vars and the night."""
        return {"business_date": business_date.isoformat(), **self.dbt_vars()}

    @property
    def opening_date(self) -> date | None:
        """The last day of the period before the cut-over month: the date of the opening-balance entry (dbt's var
        ``opening_date``, read by the macros ``opening_date()`` and ``opening_period()``)."""
        if self.cutover_date is None:
            return None
        return self.cutover_date.replace(day=1) - timedelta(days=1)

    @property
    def opening_period(self) -> str | None:
        """The period (YYYY-MM) before the cut-over month: it holds the opening-balance entry."""
        return self.opening_date.strftime("%Y-%m") if self.opening_date else None

    def close_calendar(self) -> dict[str, date]:
        """The close calendar in force: [close] periods, and the opening period, closed from the cut-over
        date (periods before the cut-over month are closed from the start; docs/computations.md, "Migration and
        cut-over"). The pipeline writes it for dbt as the source ``pipeline.close_calendar``
        (``lifecycle.io.warehouse.write_night``), which the macro ``posting_period_start`` reads."""
        calendar = dict(self.period_close)
        opening = self.opening_period
        if opening is not None and self.cutover_date is not None:
            calendar[opening] = min(calendar.get(opening, self.cutover_date), self.cutover_date)
        return calendar

    def closed_through(self, night: date) -> str | None:
        """The latest period (YYYY-MM) closed on night ``night``; periods close in order, so every earlier
        period is closed too. None when nothing is closed yet."""
        closed = [p for p, close in self.close_calendar().items() if night >= close]
        return max(closed) if closed else None

    def is_closed(self, period: str, night: date) -> bool:
        latest = self.closed_through(night)
        return latest is not None and period <= latest

    def closed_periods(self, night: date) -> list[str]:
        """Periods (YYYY-MM) closed on night ``night``: every period from the calendar's start (or the
        earliest period named in the close calendar) through the latest closed one."""
        latest = self.closed_through(night)
        if latest is None:
            return []
        first = min([self.calendar_start.strftime("%Y-%m"), *self.close_calendar()])
        year, month = int(first[:4]), int(first[5:7])
        out = []
        while (period := f"{year:04d}-{month:02d}") <= latest:
            out.append(period)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out


def resolve_home(home: str | os.PathLike | None = None) -> Path:
    chosen = home or os.environ.get("LIFECYCLE_HOME") or DEFAULT_HOME
    return Path(chosen).expanduser().resolve()


def _date(value: str | date | None) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(value)


def init_home(home: Path) -> None:
    """Create the folders of a home and its settings file (never overwriting one)."""
    for sub in ("landing", "raw", "quarantine", "state", "build", "exports"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    toml = home / "lifecycle.toml"
    if not toml.exists():
        toml.write_text(DEFAULT_TOML, encoding="utf-8")


def parse_settings(home: Path, text: str) -> Settings:
    if "," in str(home):  # DuckDB's file_search_path, where the warehouse finds the home's files, is comma-separated
        raise ValueError(f"{home}: a home's path may not contain a comma")
    data = tomllib.loads(text)
    business = data.get("business", {})
    billing = data.get("billing", {})
    renewals = data.get("renewals", {})
    close = data.get("close", {})
    comms = data.get("communications", {})
    ledger = data.get("ledger", {})
    serve = data.get("serve", {})
    known = {"business", "schedule", "feeds", "billing", "communications", "ledger", "renewals", "close", "serve",
             "warehouse"}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"{home / 'lifecycle.toml'}: unknown section(s) {sorted(unknown)}")
    base = Settings(home=home)
    return Settings(
        home=home,
        functional_currency=business.get("functional_currency", base.functional_currency),
        timezone=business.get("timezone", base.timezone),
        calendar_start=_date(business.get("calendar_start")) or base.calendar_start,
        cutover_date=_date(business.get("cutover_date")),
        first_night_setting=_date(business.get("first_night")),
        schedule_cron=data.get("schedule", {}).get("cron", base.schedule_cron),
        schedule_running=_boolean(home, "[schedule] running", data.get("schedule", {}).get("running", False)),
        **_feeds_settings(home, data.get("feeds", {}), base),
        billing_effort_offsets=tuple(billing.get("billing_effort_offsets", base.billing_effort_offsets)),
        billing_suspension_days=billing.get("billing_suspension_days", base.billing_suspension_days),
        nonpayment_cancel_days=billing.get("nonpayment_cancel_days", base.nonpayment_cancel_days),
        unpaid_ship_allowance_issues=billing.get(
            "unpaid_ship_allowance_issues", base.unpaid_ship_allowance_issues),
        autocharge_lead_days=billing.get("autocharge_lead_days", base.autocharge_lead_days),
        autocharge_retry_offsets=tuple(billing.get("autocharge_retry_offsets", base.autocharge_retry_offsets)),
        autocharge_access_grace_days=billing.get(
            "autocharge_access_grace_days", base.autocharge_access_grace_days),
        writeoff_account=billing.get("writeoff_account", base.writeoff_account),
        renewal_notice_offsets=_ascending(home, "[renewals] renewal_notice_offsets",
                                          renewals.get("renewal_notice_offsets", base.renewal_notice_offsets)),
        renewal_grace_issues=renewals.get("renewal_grace_issues", base.renewal_grace_issues),
        renewal_offer_rules=_offer_rules(home, renewals.get("offer_rules", [])),
        upcoming_autocharge_days=comms.get("upcoming_autocharge_days", base.upcoming_autocharge_days),
        webhook_url=comms.get("webhook_url", base.webhook_url),
        webhook_max_attempts=comms.get("webhook_max_attempts", base.webhook_max_attempts),
        account_codes={str(k): str(v) for k, v in ledger.get("account_codes", {}).items()},
        period_close=_close_calendar(home, close.get("periods", {}), _date(business.get("cutover_date"))),
        **_serve_settings(home, serve, base),
        **_warehouse_settings(home, data.get("warehouse", {}), base),
    )


def _warehouse_settings(home: Path, warehouse: dict, base: Settings) -> dict[str, object]:
    """[warehouse], validated: DuckDB would take a wrong memory limit only when the night's first query runs."""
    where = f"{home / 'lifecycle.toml'}: [warehouse]"
    unknown = set(warehouse) - {"memory_limit", "threads", "temp_directory", "kind", "finance_role", "engine_batch",
                                "spark_master", "spark_warehouse", "spark_memory", "spark_conf", "spark_engines"}
    if unknown:
        raise ValueError(f"{where} unknown key(s) {sorted(unknown)}")
    limit = warehouse.get("memory_limit", base.duckdb_memory_limit)
    threads = warehouse.get("threads", base.duckdb_threads)
    temp = warehouse.get("temp_directory", base.duckdb_temp_setting)
    if not isinstance(limit, str) or not re.fullmatch(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)", limit.strip()):
        raise ValueError(f"{where} memory_limit {limit!r} is not a size such as \"6GB\", \"12GiB\" or \"75%\"")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"{where} threads {threads!r} is not a whole number ≥ 1")
    if not isinstance(temp, str) or "," in temp or "'" in temp:
        raise ValueError(f"{where} temp_directory {temp!r} is not a folder path (without commas or quotes)")
    if temp and not Path(temp).is_absolute():
        temp = str(home / temp)
    kind = warehouse.get("kind", base.warehouse_kind)
    if kind not in WAREHOUSE_KINDS:
        raise ValueError(f"{where} kind {kind!r} is not one of {', '.join(map(repr, WAREHOUSE_KINDS))}")
    role = warehouse.get("finance_role", base.finance_role)
    if not isinstance(role, str) or not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"{where} finance_role {role!r} is not a PostgreSQL role name (lower case letters, digits, _)")
    batch = warehouse.get("engine_batch", base.engine_batch)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"{where} engine_batch {batch!r} is not a whole number ≥ 1")
    master = warehouse.get("spark_master", base.spark_master)
    if not isinstance(master, str) or not re.fullmatch(r"local(\[(\d+|\*)\])?|(spark|k8s)://\S+|yarn", master):
        raise ValueError(f"{where} spark_master {master!r} is not local[N], yarn, or a spark:// or k8s:// URL")
    spark_memory = warehouse.get("spark_memory", base.spark_memory)
    if not isinstance(spark_memory, str) or not re.fullmatch(r"\d+[kmgt]", spark_memory.strip().lower()):
        raise ValueError(f"{where} spark_memory {spark_memory!r} is not a JVM size such as \"4g\" or \"512m\"")
    conf = warehouse.get("spark_conf", base.spark_conf)
    if not isinstance(conf, dict) or any(not str(k).startswith("spark.") or isinstance(v, (dict, list))
                                         for k, v in conf.items()):
        raise ValueError(f"{where} spark_conf must be a table of Spark settings, {{ \"spark.<name>\" = value }}")
    conf = {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in conf.items()}
    spark_dir = warehouse.get("spark_warehouse", base.spark_warehouse_setting)
    if not isinstance(spark_dir, str) or "`" in spark_dir:
        raise ValueError(f"{where} spark_warehouse {spark_dir!r} is not a folder path (without backquotes)")
    if spark_dir and not Path(spark_dir).is_absolute():
        spark_dir = str(home / spark_dir)
    engines = warehouse.get("spark_engines", base.spark_engines)
    if not isinstance(engines, bool):
        raise ValueError(f"{where} spark_engines {engines!r} is not true or false")
    return {"spark_engines": engines, "duckdb_memory_limit": limit.strip(), "duckdb_threads": threads, "duckdb_temp_setting": temp,
            "warehouse_kind": kind, "finance_role": role, "engine_batch": batch, "spark_master": master,
            "spark_warehouse_setting": spark_dir, "spark_memory": spark_memory.strip().lower(), "spark_conf": conf}


def _ascending(home: Path, name: str, values) -> tuple[int, ...]:
    """Offsets in order: notice k is never due before notice k − 1."""
    out = tuple(values)
    if list(out) != sorted(set(out)):
        raise ValueError(f"{home / 'lifecycle.toml'}: {name} {list(out)} must be distinct and in increasing order")
    return out


_RULE_CONDITIONS = {"segment": None, "tenure": ("first", "later"), "term_unit": ("months", "issues", "shipments"),
                    "price_position": ("at_or_above_list", "below_list")}
_RULE_ACTIONS = ("same_offer", "next_in_chain", "offer")


def _offer_rules(home: Path, rules: list) -> tuple[dict[str, object], ...]:
    """[renewals] offer_rules, validated: a rule that can never match, or two of equal priority, is a mistake."""
    where = f"{home / 'lifecycle.toml'}: [renewals] offer_rules"
    out: list[dict[str, object]] = []
    for i, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict):
            raise ValueError(f"{where} rule {i} is not a table")
        unknown = set(rule) - {"rule_id", "priority", "action", "offer_id", "description", *_RULE_CONDITIONS}
        if unknown:
            raise ValueError(f"{where} rule {i}: unknown key(s) {sorted(unknown)}")
        if not rule.get("rule_id") or isinstance(rule.get("priority"), bool) or not isinstance(rule.get("priority"), int):
            raise ValueError(f"{where} rule {i} needs a rule_id and a whole-number priority")
        if rule.get("action") not in _RULE_ACTIONS:
            raise ValueError(f"{where} rule {rule['rule_id']}: action must be one of {', '.join(_RULE_ACTIONS)}")
        if (rule["action"] == "offer") != bool(rule.get("offer_id")):
            raise ValueError(f"{where} rule {rule['rule_id']}: offer_id goes with action offer, and only with it")
        for key, allowed in _RULE_CONDITIONS.items():
            if key in rule and allowed and rule[key] not in allowed:
                raise ValueError(f"{where} rule {rule['rule_id']}: {key} must be one of {', '.join(allowed)}")
        out.append({k: rule.get(k) for k in ("rule_id", "priority", "action", "offer_id", *_RULE_CONDITIONS)})
    priorities = [r["priority"] for r in out]
    if len(set(priorities)) != len(priorities):
        raise ValueError(f"{where}: two rules share a priority")
    return tuple(sorted(out, key=lambda r: r["priority"]))


def _serve_settings(home: Path, serve: dict, base: Settings) -> dict[str, object]:
    """[serve], validated: a typo or a quoted port must not start the page somewhere nobody expects."""
    where = f"{home / 'lifecycle.toml'}: [serve]"
    unknown = set(serve) - {"host", "port", "session_hours", "https_only"}
    if unknown:
        raise ValueError(f"{where} unknown key(s) {sorted(unknown)}")
    host = serve.get("host", base.serve_host)
    port = serve.get("port", base.serve_port)
    hours = serve.get("session_hours", base.serve_session_hours)
    https_only = serve.get("https_only", base.serve_https_only)
    if not isinstance(host, str) or not host:
        raise ValueError(f"{where} host {host!r} is not a host name or address")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"{where} port {port!r} is not a port number (1-65535)")
    if isinstance(hours, bool) or not isinstance(hours, int) or hours < 1:
        raise ValueError(f"{where} session_hours {hours!r} is not a whole number of hours ≥ 1")
    if not isinstance(https_only, bool):
        raise ValueError(f"{where} https_only {https_only!r} is not true or false")
    return {"serve_host": host, "serve_port": port, "serve_session_hours": hours, "serve_https_only": https_only}


def _boolean(home: Path, name: str, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{home / 'lifecycle.toml'}: {name} {value!r} is not true or false")
    return value


def _feeds_settings(home: Path, feeds: dict, base: Settings) -> dict[str, object]:
    """[feeds], validated: a misspelt feed would otherwise never be waited for."""
    from lifecycle.contract import FEEDS

    where = f"{home / 'lifecycle.toml'}: [feeds]"
    unknown = set(feeds) - {"expected_daily", "when_missing"}
    if unknown:
        raise ValueError(f"{where} unknown key(s) {sorted(unknown)}")
    expected = feeds.get("expected_daily", list(base.expected_daily))
    names = [f.name for f in FEEDS]
    if not isinstance(expected, list) or not all(isinstance(f, str) for f in expected):
        raise ValueError(f"{where} expected_daily {expected!r} is not a list of feed names")
    strangers = [f for f in expected if f not in names]
    if strangers:
        raise ValueError(f"{where} expected_daily names no feed {strangers}: the feeds are {', '.join(names)}")
    when = feeds.get("when_missing", base.when_missing)
    if when not in ("wait", "warn"):
        raise ValueError(f"{where} when_missing {when!r} is neither \"wait\" nor \"warn\"")
    return {"expected_daily": tuple(dict.fromkeys(expected)), "when_missing": when}


def _close_calendar(home: Path, periods: dict, cutover: date | None = None) -> dict[str, date]:
    """{period: close date}, validated: YYYY-MM keys, a close date after the period, closes in period order;
    a period before the cut-over month is closed from the cut-over date, so it cannot close later."""
    calendar: dict[str, date] = {}
    for period, close in sorted(periods.items()):
        try:
            first = date.fromisoformat(f"{period}-01")
        except ValueError:
            raise ValueError(f"{home / 'lifecycle.toml'}: [close] periods: {period!r} is not a YYYY-MM period") from None
        closed_on = _date(close)
        if closed_on is None or closed_on <= first:
            raise ValueError(f"{home / 'lifecycle.toml'}: [close] period {period} closes on {close!r}, "
                             "which is not a date after the period starts")
        if calendar and closed_on < max(calendar.values()):
            raise ValueError(f"{home / 'lifecycle.toml'}: [close] period {period} closes on {closed_on}, "
                             "before an earlier period's close: periods close in order")
        if cutover is not None and period < cutover.strftime("%Y-%m") and closed_on > cutover:
            raise ValueError(f"{home / 'lifecycle.toml'}: [close] period {period} closes on {closed_on}, after the "
                             f"cut-over date {cutover}: periods before the cut-over month are closed from the start")
        if cutover is not None and period >= cutover.strftime("%Y-%m") and closed_on < cutover:
            raise ValueError(f"{home / 'lifecycle.toml'}: [close] period {period} closes on {closed_on}, before the "
                             f"cut-over date {cutover}, which closes the periods before it: periods close in order")
        calendar[period] = closed_on
    return calendar


@cache
def load_settings(home: Path) -> Settings:
    toml = home / "lifecycle.toml"
    text = toml.read_text(encoding="utf-8") if toml.exists() else DEFAULT_TOML
    return parse_settings(home, text)


def get_settings(home: str | os.PathLike | None = None) -> Settings:
    """The settings of a home (``--home`` > ``$LIFECYCLE_HOME`` > ``./var``), read once."""
    return load_settings(resolve_home(home))
