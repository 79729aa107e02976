"""The backfill loop: nights D1..D2 run one after another, in date order.

Nights are stateful (tonight's checks compare with the last published night, later issues read
the export register), so a backfill runs its nights one after another, in date order, each one
ingestion → dbt build → audit → publish (``lifecycle.pipelines.night.run_night``); never one dbt
call over a date range.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from lifecycle.pipelines.night import NightOutcome, night_instance, run_night
from lifecycle.settings import Settings
from lifecycle.summary import print_night


def nights(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError(f"backfill end {end} is before its start {start}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def backfill(settings: Settings, start: date, end: date, *, ephemeral: bool = False,
             after_night: Callable[[Settings, date], object] | None = None,
             progress: Callable[[str], None] | None = None) -> list[NightOutcome]:
    """Run nights start..end in order, stopping at the first failure; ``after_night(settings, D)`` runs after
    each published night (the demo's sample processor answers that night's refund requests there)."""
    from lifecycle.io.lock import night_lock

    outcomes = []
    with night_lock(settings, f"backfill {start}..{end}"):
        instance = night_instance(settings, ephemeral)
        for day in nights(start, end):
            outcome = run_night(settings, day, instance=instance, progress=progress)
            print_night(outcome)
            outcomes.append(outcome)
            if outcome.published and after_night is not None:
                after_night(settings, day)
            if not outcome.success:
                print(f"backfill stopped at {day}: nights are stateful; fix the cause and run the backfill again "
                      f"from {day}")
                break
    return outcomes
