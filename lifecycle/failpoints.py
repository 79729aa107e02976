"""Failpoints: the instants between a night's stages where the crash tests kill it.

A night holds no state in memory that a rerun needs: each stage writes files, and a crash between two of them
must leave a home the next run repairs (lifecycle.io.register.recover, the published file as its own record).
To prove it, ``tests/test_crashes.py`` runs a night with ``LIFECYCLE_FAILPOINT=<name>``: on reaching that
failpoint the process sends itself SIGKILL, as the kernel's OOM killer or a pulled plug would, with no
``finally`` block, no atexit and no flush. Unset (always, in production) a failpoint costs one dictionary
lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "LIFECYCLE_FAILPOINT"

#: Every failpoint, in the order a night reaches them.
FAILPOINTS = {
    "after_ingest": "every feed is ingested; the build has not started",
    "mid_build": "dbt built the first steps of the warehouse, not the last",
    "mid_test": "the data tests ran; the gates are not recorded",
    "mid_export": "the manifests and draws are written and their register rows staged; the control file is not",
    "after_register": "every export and its register rows are written; the register audit has not run",
    "after_swap": "the build is swapped into warehouse.duckdb; its table counts are not recorded",
}


def reach(name: str) -> None:
    """Die here (SIGKILL, by our own PID) when ``LIFECYCLE_FAILPOINT`` names this failpoint."""
    if os.environ.get(ENV) == name:
        assert name in FAILPOINTS, name
        os.kill(os.getpid(), signal.SIGKILL)
