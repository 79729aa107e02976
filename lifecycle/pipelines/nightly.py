"""The nightly job over the business-date partitions, and its schedule: the Dagster definitions of a night.

A night run from the command line or a test (``run_night``, the Dagster instance it runs on) is in
``lifecycle.pipelines.night``; the backfill loop, nights one after another in date order, in
``lifecycle.pipelines.backfill``.
"""


from datetime import date, datetime, timedelta

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    in_process_executor,
    schedule,
)

from lifecycle.io.landing import NightNotReady, check_night_ready
from lifecycle.partitions import DAILY
from lifecycle.settings import get_settings

nightly_job = define_asset_job(
    "nightly",
    selection=AssetSelection.all(),
    partitions_def=DAILY,
    # One process, steps in dependency order: the machine is small and DuckDB files want one writer.
    executor_def=in_process_executor,
    description="One night D: ingest every feed, build and test the warehouse, publish it if every check passed.",
)


def night_for_tick(tick: datetime) -> date:
    """The schedule fires after midnight and runs the business date that just ended."""
    return tick.date() - timedelta(days=1)


def build_nightly_schedule():
    settings = get_settings()

    @schedule(job=nightly_job, cron_schedule=settings.schedule_cron, execution_timezone=settings.timezone,
              name="nightly_schedule",
              default_status=DefaultScheduleStatus.RUNNING if settings.schedule_running else DefaultScheduleStatus.STOPPED)
    def nightly_schedule(context: ScheduleEvaluationContext):
        night = night_for_tick(context.scheduled_execution_time)
        try:
            check_night_ready(get_settings(settings.home), night)
        except NightNotReady as exc:  # the tick says why; the night runs once its files landed (UI or CLI)
            return SkipReason(str(exc))
        return RunRequest(run_key=night.isoformat(), partition_key=night.isoformat())

    return nightly_schedule
