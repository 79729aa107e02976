"""The sample publisher at several seeds and sizes: every night is published with every gate passing.

The generator's other seeds reach cases the default one does not (a legacy charge answering a renewal the pipeline
makes later, a digital edition with an issue schedule...), and the project's own checks are right to stop a night
that gets one wrong. This runs at length in `make fuzz` (``LIFECYCLE_SEEDS``: ``seed:customers`` pairs, comma
separated), and skips in `make test`, whose homes cover the same code at one seed.
"""

from __future__ import annotations

import os
from datetime import date

import pytest

from lifecycle.generator import generate
from lifecycle.pipelines.backfill import backfill
from lifecycle.pipelines.demo import sample_processor
from lifecycle.settings import get_settings, init_home, load_settings

SEEDS = os.environ.get("LIFECYCLE_SEEDS", "")
CASES = [tuple(int(x) for x in case.split(":")) for case in SEEDS.split(",") if case.strip()]
#: a history from January 2025, the migration load on 15 November 2026 and five nights after it
START, CUTOVER, END = date(2025, 1, 1), date(2026, 11, 15), date(2026, 11, 20)

pytestmark = [
    pytest.mark.nights,
    pytest.mark.skipif(not CASES, reason="the sample at several seeds runs in `make fuzz` (LIFECYCLE_SEEDS=seed:customers,...)"),
]


@pytest.mark.parametrize("seed, customers", CASES, ids=[f"seed{s}-{n}" for s, n in CASES])
def test_every_night_of_the_sample_is_published(tmp_path, monkeypatch, seed, customers):
    path = tmp_path / "home"
    init_home(path)
    monkeypatch.setenv("LIFECYCLE_HOME", str(path))
    generate(path, customers=customers, seed=seed, start=START, end=END, cutover=CUTOVER)
    load_settings.cache_clear()
    settings = get_settings(path)
    outcomes = backfill(settings, CUTOVER, END, ephemeral=True, after_night=sample_processor)
    withheld = {o.business_date.isoformat(): [(f.domain, f.check, f.message[:300]) for f in (o.gates.failures if o.gates else [])]
                + [("step", step, message[:300]) for step, message in o.failures]
                for o in outcomes if not o.published}
    assert withheld == {}
    assert [o.business_date for o in outcomes] == [date.fromordinal(d) for d in range(CUTOVER.toordinal(),
                                                                                     END.toordinal() + 1)]
