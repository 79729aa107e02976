"""The business-date partitions shared by every nightly asset (one partition = one night D)."""

from __future__ import annotations

from dagster import DailyPartitionsDefinition

from lifecycle.settings import get_settings


def daily_partitions() -> DailyPartitionsDefinition:
    settings = get_settings()
    # end_offset=1: tonight's date is a partition too, so a night can run as soon as its files landed.
    return DailyPartitionsDefinition(
        start_date=settings.calendar_start.isoformat(), timezone=settings.timezone, end_offset=1
    )


DAILY = daily_partitions()
