"""``lifecycle demo``: a sample publisher generated into a home, its nights from the cut-over backfilled with the
sample payment processor answering each night's refund requests, then the home's summary, the first rows of a
few published reports and the renewal report.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from lifecycle.pipelines.backfill import backfill
from lifecycle.settings import Settings, get_settings, init_home, load_settings
from lifecycle.summary import last_published, print_demo_reports, print_summary

DEMO_START = date(2025, 1, 1)
DEMO_END = date(2026, 11, 20)
DEMO_CUSTOMERS = 2_000
DEMO_NIGHTS_AFTER_CUTOVER = 3


def sample_processor(settings: Settings, night: date) -> None:
    """The demo's payment processor: answers night D's refund requests in a later payments landing file."""
    from lifecycle.generator.processor import answer_refund_requests

    result = answer_refund_requests(settings, night)
    if result.answers:
        print(f"  sample processor: {len(result.answers)} refund(s) of night {night} answered in "
              f"{result.path.relative_to(settings.home)}")


def run_demo(settings: Settings, *, customers: int, seed: int, force: bool,
             progress: Callable[[str], None] | None = None) -> bool:
    """Generate the sample publisher into ``settings.home`` (unless it holds landing files already and ``force``
    is not set), backfill its nights from the cut-over and print what they made, holding the home's night lock.
    True when every night succeeded."""
    from lifecycle.io.lock import night_lock

    with night_lock(settings, "demo"):
        return _run_demo(settings, customers=customers, seed=seed, force=force, progress=progress)


def _run_demo(settings: Settings, *, customers: int, seed: int, force: bool,
              progress: Callable[[str], None] | None) -> bool:
    from lifecycle.generator import generate

    if any(settings.landing.glob("*/*.csv")) and not force:
        print(f"{settings.home} already holds landing files; rerunning its nights (use --force to regenerate)")
    else:
        if force:
            import shutil

            from lifecycle.io.lock import lock_path

            for sub in ("landing", "raw", "quarantine", "state", "build", "exports", "generator"):
                for path in sorted((settings.home / sub).glob("*")):
                    if path == lock_path(settings):  # held by this demo: a new file would let another night in
                        continue
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
            settings.warehouse.unlink(missing_ok=True)
            init_home(settings.home)
        cutover = DEMO_END - timedelta(days=DEMO_NIGHTS_AFTER_CUTOVER)
        print(f"Generating a sample publisher: {customers} customers, history {DEMO_START} → {DEMO_END}, "
              f"migration load on {cutover}")
        summary = generate(settings.home, customers=customers, seed=seed, start=DEMO_START, end=DEMO_END,
                           cutover=cutover)
        print(f"  {sum(summary.get('rows', {}).values()) if isinstance(summary.get('rows'), dict) else ''} rows "
              f"written in {summary.get('seconds', 0):.1f}s")
    load_settings.cache_clear()
    settings = get_settings(settings.home)
    start = settings.cutover_date or (DEMO_END - timedelta(days=DEMO_NIGHTS_AFTER_CUTOVER))
    outcomes = backfill(settings, start, DEMO_END, after_night=sample_processor, progress=progress)
    print_summary(settings)
    if last_published(settings) is not None:
        print_demo_reports(settings)
    ok = bool(outcomes) and all(o.success for o in outcomes)
    if ok:
        from lifecycle.reports import write_renewal_report

        report = write_renewal_report(settings)
        print(f"Renewal report: {report.html} (and {report.png.name})")
    return ok
