"""One night of a home, run in this process: ``run_night``, what it returns, and the Dagster instance it runs on.

``lifecycle nightly``, the backfill loop (``lifecycle.pipelines.backfill``), the demo and the tests run a night
here: holding the home's night lock, ``run_night`` refuses a night whose expected feeds have not landed before it
loads anything, starts the GX suite worker, then executes the nightly job (``lifecycle.pipelines.nightly``) for the
night's partition on the home's instance and says what became of the night (``NightOutcome``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from lifecycle.checks.gates import Gates, read_gates
from lifecycle.pipelines.progress import SERVER_STEPS
from lifecycle.settings import Settings


@dataclass
class NightOutcome:
    business_date: date
    success: bool
    published: bool
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    reason: str = ""
    gates: Gates | None = None
    events: int = 0  # Dagster events the night wrote


#: The instance a home's CLI creates: no telemetry, and one run at a time (nights are stateful), so the
#: schedule and a backfill launched from the UI queue behind a running night instead of building beside it.
RUN_LIMIT = "concurrency:\n  runs:\n    max_concurrent_runs: 1\n"
#: the home's event log (lifecycle.pipelines.event_log), where Dagster's default SQLite storage keeps it
EVENT_LOG = ("event_log_storage:\n  module: lifecycle.pipelines.event_log\n  class: NightEventLogStorage\n"
             "  config:\n    base_dir: history/runs\n")
DAGSTER_YAML = "telemetry:\n  enabled: false\n" + RUN_LIMIT + EVENT_LOG


def night_instance(settings: Settings, ephemeral: bool):
    """The Dagster instance the home's nights run on: ``$DAGSTER_HOME``, else ``<home>/dagster``, whose
    ``dagster.yaml`` is written (``DAGSTER_YAML``) or completed with what it lacks; ephemeral for the tests."""
    from dagster import DagsterInstance

    if ephemeral:
        return DagsterInstance.ephemeral()
    dagster_home = Path(os.environ.get("DAGSTER_HOME") or settings.home / "dagster")
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    text = config.read_text(encoding="utf-8") if config.exists() else ""
    if not text.strip():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    else:  # a home made before the run limit or the event log: add what it lacks, keep the rest
        missing = "" if "concurrency:" in text else RUN_LIMIT
        if not re.search(r"^(storage|event_log_storage):", text, re.MULTILINE):  # unless it names its own
            missing += EVENT_LOG
        if missing:
            config.write_text(text.rstrip("\n") + "\n" + missing, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    return DagsterInstance.get()


@functools.cache
def nightly_job(home: str):
    """The nightly job of a home, built once per process (a backfill of 30 nights builds it once)."""
    from lifecycle.definitions import build_definitions

    return build_definitions(home).resolve_job_def("nightly")


def _step_failures(event) -> list[tuple[str, str]]:
    """What a failed step says: (step, message), or for ingestion one (``raw__<feed>``, message) per broken feed."""
    from lifecycle.assets.ingest import BROKEN_FEEDS

    data = event.event_specific_data
    user = getattr(data, "user_failure_data", None)
    broken = user.metadata.get(BROKEN_FEEDS) if user is not None and user.metadata else None
    if broken is not None:
        return [(f"raw__{feed}", message) for feed, message in broken.value.items()]
    message = data.error.message.strip() if data.error else "failed"
    return [(event.step_key, message.removeprefix("dagster._core.definitions.events.Failure: "))]  # our own words


def run_night(settings: Settings, day: date, *, ephemeral: bool = False, instance=None,
              progress: Callable[[str], None] | None = None, full_refresh: bool = False) -> NightOutcome:
    """Run the nightly job for business date ``day`` on ``settings.home`` in this process, holding the
    home's night lock; ``progress`` receives one line per stage as it finishes. ``full_refresh``: nothing an earlier
    night kept is reused, neither the engines' records (lifecycle.billing.carry) nor the carried models' rows (the
    build starts empty)."""
    import uuid

    from lifecycle.checks.gx_suites import start_suite_worker
    from lifecycle.io.landing import check_night_ready
    from lifecycle.io.lock import night_lock

    started = time.perf_counter()
    os.environ["LIFECYCLE_HOME"] = str(settings.home)
    with night_lock(settings, f"night {day.isoformat()}"):
        check_night_ready(settings, day)  # before the job: a refusal costs nothing and writes nothing
        # GX imports on the other core while this process imports Dagster and dbt and loads the job
        start_suite_worker()
        from lifecycle.assets.engines import FULL_REFRESH_TAG
        from lifecycle.io.warehouse import last_published_date
        from lifecycle.pipelines.progress import NightProgress

        job = nightly_job(str(settings.home))
        instance = instance or night_instance(settings, ephemeral)
        level = os.environ.get("LIFECYCLE_LOG_LEVEL", "WARNING")  # the Dagster UI keeps every event anyway
        log_path = settings.state / "logs" / f"nightly-{day.isoformat()}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        run_id = str(uuid.uuid4())
        listener = NightProgress(progress or (lambda line: None))
        instance.add_event_listener(run_id, listener)
        # dbt's output goes to the night's log file, not the terminal.
        with log_path.open("w", encoding="utf-8") as log, contextlib.redirect_stdout(
            log if level == "WARNING" else sys.stdout
        ):
            result = job.execute_in_process(
                partition_key=day.isoformat(), instance=instance, raise_on_error=False, run_id=run_id,
                run_config={"loggers": {"console": {"config": {"log_level": level}}}},
                tags={FULL_REFRESH_TAG: "true"} if full_refresh else None,
            )
        listener.finish()
    failures = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            failures.extend(_step_failures(event))
    last = last_published_date(settings)
    # only the server's copy failed (``[warehouse] kind = "postgres"`` or ``"spark"``): published on DuckDB
    server_only = bool(failures) and all(step in SERVER_STEPS for step, _ in failures)
    published = (result.success or server_only) and last == day
    gates = read_gates(settings, day)
    reason = ""
    if server_only and published:
        reason = (f"published, but not on {SERVER_STEPS[failures[0][0]]}, which keeps its previous night: "
                  f"{failures[0][1]}")
    elif result.success and not published:
        reason = f"a later night ({last}) is already published"
    elif gates is not None and not gates.all_passed:
        reason = f"withheld, the warehouse stays at {last or 'no night'}: {gates.reason()}"
        failures = [f for f in failures if f[0] != "published_warehouse"]  # the gates say why
    elif not result.success:
        reason = f"a step failed; the warehouse stays at {last or 'no night'}"
    return NightOutcome(day, result.success, published, failures, time.perf_counter() - started, reason, gates,
                        listener.events)
