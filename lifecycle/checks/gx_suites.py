"""Great Expectations suites generated from the feed contract, run on each night's accepted rows.

Ingestion's SQL decides which rows are accepted; this suite is the independent audit of the
result (GX Core 1.x, pandas path, called directly: dagster-ge only supports GX < 1.0). A failure
means accepted rows break the contract, so the night's publication is blocked.

The suite sees decimal columns as exact integers in their minor units (``accepted_frame``: 19.99 at
scale 2 is 1999), never as Python ``Decimal`` objects (one per cell: slow, and a cell-by-cell comparison
with a float bound) nor as floats; a column's minimum is scaled the same way.
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import datetime as dt
import logging
import math
import multiprocessing
import os
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from lifecycle.contract import SUPPORTED_CURRENCIES, Feed

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@dataclass
class SuiteResult:
    success: bool
    evaluated: int
    failed: list[str]
    rows: int


def accepted_frame(table: pa.Table) -> tuple[pd.DataFrame, dict[str, int]]:
    """The accepted rows as the suite reads them, and the scale of each decimal column (now integers in minor
    units, a nullable Int64). Other columns convert as pandas does by default."""
    scales: dict[str, int] = {}
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_decimal(column.type):
            scale = column.type.scale
            scaled = pa.compute.multiply(column, pa.scalar(Decimal(10) ** scale, pa.decimal128(scale + 1, 0)))
            column = scaled.cast(pa.int64())  # exact: refuses (raises) rather than truncates
            scales[name] = scale
        columns.append(column)
    frame = pa.table(columns, names=table.column_names).to_pandas(
        types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    return frame, scales


def _scaled(minimum: Decimal, scale: int | None):
    """A contract minimum in the column's minor units (the smallest integer not below it)."""
    if scale is None:
        return minimum
    return math.ceil(Decimal(minimum) * (Decimal(10) ** scale))


def build_expectations(contract: Feed, recorded_date: dt.date, scales: dict[str, int] | None = None):
    import great_expectations as gx

    E = gx.expectations
    exps = [E.ExpectTableColumnsToMatchSet(column_set=contract.column_names + [
        "_recorded_date", "_source_file", "_source_line"], exact_match=True)]
    for col in contract.columns:
        if col.required:
            exps.append(E.ExpectColumnValuesToNotBeNull(column=col.name))
        if col.allowed:
            exps.append(E.ExpectColumnValuesToBeInSet(column=col.name, value_set=list(col.allowed)))
        if col.type == "currency":
            exps.append(E.ExpectColumnValuesToBeInSet(column=col.name, value_set=list(SUPPORTED_CURRENCIES)))
        if col.minimum is not None and col.type in ("integer", "money", "decimal"):
            exps.append(E.ExpectColumnValuesToBeBetween(
                column=col.name, min_value=_scaled(col.minimum, (scales or {}).get(col.name))))
    if contract.is_event:
        if len(contract.key) == 1:
            exps.append(E.ExpectColumnValuesToBeUnique(column=contract.key[0]))
        else:
            exps.append(E.ExpectCompoundColumnsToBeUnique(column_list=list(contract.key)))
    else:
        exps.append(E.ExpectCompoundColumnsToBeUnique(column_list=list(contract.key) + ["_recorded_date"])
                    if len(contract.key) > 1 else E.ExpectColumnValuesToBeUnique(column=contract.key[0]))
    exps.append(E.ExpectColumnValuesToBeBetween(
        column="_recorded_date",
        min_value=dt.datetime.combine(recorded_date, dt.time()),
        max_value=dt.datetime.combine(recorded_date, dt.time())))
    return exps


@cache
def _context():
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # pragma: no cover - progress bars are cosmetic
        pass
    return context


def validate_accepted_rows(contract: Feed, recorded_date: dt.date, frame: pd.DataFrame | pa.Table,
                           scales: dict[str, int] | None = None) -> SuiteResult:
    """Run the contract's suite on the accepted rows of one landing file: an Arrow table as ingestion wrote it,
    or a frame from ``accepted_frame`` with its ``scales``."""
    import great_expectations as gx

    scales = dict(scales or {})
    if isinstance(frame, pa.Table):
        frame, scales = accepted_frame(frame)
    context = _context()
    name = f"{contract.name}_{recorded_date.isoformat()}"
    frame = frame.copy()
    frame["_recorded_date"] = pd.to_datetime(frame["_recorded_date"])
    source = context.data_sources.add_or_update_pandas(f"accepted_{name}")
    asset = source.add_dataframe_asset(name=name)
    batch = asset.add_batch_definition_whole_dataframe(name).get_batch(batch_parameters={"dataframe": frame})
    suite = gx.ExpectationSuite(name=f"contract_{name}", expectations=build_expectations(contract, recorded_date, scales))
    result = batch.validate(suite)
    failed = []
    for r in result.results:
        if not r.success:
            cfg = r.expectation_config
            detail = r.exception_info.get("exception_message") if r.exception_info and r.exception_info.get(
                "raised_exception") else f"{r.result.get('unexpected_count')} unexpected"
            failed.append(f"{cfg.type}({cfg.kwargs.get('column') or cfg.kwargs.get('column_list') or ''}): {detail}")
    context.data_sources.delete(f"accepted_{name}")
    return SuiteResult(success=bool(result.success), evaluated=len(result.results), failed=failed, rows=len(frame))


# -- the suites' own process -------------------------------------------------------------------------------------
#
# Importing Great Expectations costs about 3 s of one core, every night. A night that starts the suites' process
# first (``start_suite_worker``) pays it on the other core while this process imports Dagster and dbt; each feed's
# suite then runs there on the accepted rows' Parquet file. Without the worker (the Dagster UI, a test) the suite
# runs here, the same function either way.

_WORKER: concurrent.futures.ProcessPoolExecutor | None = None


def _worker_init(parent: int) -> None:
    """In the worker, first: hold none of the night's output pipes (whoever waits for the night's output must not
    wait for this process too), and end as soon as the night's process is gone, killed or not (a killed night runs
    no exit handler to stop its worker)."""
    import threading
    import time

    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    # GX's progress bars (tqdm) would make a process-shared lock here, a named semaphore that this process, ended
    # by a kill, never releases: a thread lock serves one process as well
    try:
        from tqdm import tqdm  # Great Expectations' own dependency
    except ImportError:  # pragma: no cover - a GX without progress bars
        pass
    else:
        tqdm.set_lock(threading.RLock())

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _warm() -> None:
    """In the worker: import GX and make its context, so the first feed's suite finds them ready."""
    _context()


def _validate_file(contract: Feed, recorded_date: dt.date, path: str) -> SuiteResult:
    import pyarrow.parquet as pq

    return validate_accepted_rows(contract, recorded_date, pq.ParquetFile(path).read())


def start_suite_worker() -> None:
    """Start the suites' process (once per process; a backfill's nights share it) and let it warm up."""
    global _WORKER
    if _WORKER is None:
        _WORKER = concurrent.futures.ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init, initargs=(os.getpid(),))
        _WORKER.submit(_warm)


#: a suites' process holding more than this once a night's ingestion is over is ended (the next night starts
#: another). Warm, GX and its context hold about 260 MB; after the suites over a migration's batches at a million
#: customers the process went on holding 0.7-1.7 GB beside the build and the engines
RECYCLE_BYTES = 512 * 1024 ** 2


def _resident_bytes(pid: int) -> int:
    """A process's resident memory, from /proc (0 where there is none to read)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def recycle_large_worker(limit: int = RECYCLE_BYTES) -> bool:
    """After a night's ingestion (every suite answered): end the suites' process if it holds more than ``limit``
    bytes, so what GX kept of a large batch is not held through the build and the engines. A small night keeps its
    worker warm for the next night of a backfill. True when it was ended."""
    global _WORKER
    if _WORKER is None:
        return False
    held = sum(_resident_bytes(p.pid) for p in list((_WORKER._processes or {}).values()))
    if held <= limit:
        return False
    _WORKER.shutdown(wait=True)  # idle: every suite of the night was waited for
    _WORKER = None
    return True


def stop_suite_worker() -> None:
    """For a process about to end with ``os._exit``: kill the suites' process (idle once the night is over) and
    release the semaphores of its queues now. ``os._exit`` skips multiprocessing's own exit handler, which does
    that release; without it the resource tracker warns of "leaked semaphore objects" after the night's last line."""
    global _WORKER
    import multiprocessing.util

    if _WORKER is not None:
        for process in list((_WORKER._processes or {}).values()):
            process.kill()
        _WORKER.shutdown(wait=False, cancel_futures=True)
        _WORKER = None
    multiprocessing.util._run_finalizers(0)  # what multiprocessing's exit handler runs: the queues' semaphores


@dataclass
class SuiteRun:
    """A suite started on one feed's accepted rows; ``result()`` waits for it."""
    contract: Feed
    recorded_date: dt.date
    path: str
    future: concurrent.futures.Future | None

    def result(self) -> SuiteResult:
        """The suite's result: from the suites' process, or run here (no worker, or a worker that died: the result
        is the same)."""
        global _WORKER
        if self.future is not None:
            try:
                return self.future.result()
            except concurrent.futures.process.BrokenProcessPool:
                _WORKER = None
        return _validate_file(self.contract, self.recorded_date, self.path)


def submit_accepted_file(contract: Feed, recorded_date: dt.date, path: str) -> SuiteRun:
    """Start the contract's suite on the accepted rows ingestion wrote to ``path``, in the suites' process when one
    was started (ingestion goes on with the next feed meanwhile), else when its result is asked for."""
    global _WORKER
    future = None
    if _WORKER is not None:
        try:
            future = _WORKER.submit(_validate_file, contract, recorded_date, path)
        except concurrent.futures.process.BrokenProcessPool:
            _WORKER = None
    return SuiteRun(contract, recorded_date, path, future)


def validate_accepted_file(contract: Feed, recorded_date: dt.date, path: str) -> SuiteResult:
    """The contract's suite on the accepted rows ingestion wrote to ``path``, waited for."""
    return submit_accepted_file(contract, recorded_date, path).result()
