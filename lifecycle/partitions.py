"""The business-date partitions shared by every nightly asset (one partition = one night D)."""

from __future__ import annotations

from dagster import DailyPartitionsDefinition

from lifecycle.settings import get_settings


def daily_partitions() -> DailyPartitionsDefinition:
    """Nights from the home's first night (its ``first_night``, cut-over date or first landing file), so the UI
    lists the nights the home can have; a home with neither yet starts at ``calendar_start``. Read when the
    code location loads: a process serves one home."""
    settings = get_settings()
    first = settings.first_night() or settings.calendar_start
    # end_offset=1: tonight's date is a partition too, so a night can run as soon as its files landed.
    return DailyPartitionsDefinition(start_date=first.isoformat(), timezone=settings.timezone, end_offset=1)


DAILY = daily_partitions()
