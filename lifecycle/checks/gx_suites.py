"""Great Expectations suites generated from the feed contract, run on each night's accepted rows.

Ingestion's SQL decides which rows are accepted; this suite is the independent audit of the
result (GX Core 1.x, pandas path, called directly: dagster-ge only supports GX < 1.0). A failure
means accepted rows break the contract, so the night's publication is blocked.

The suite sees decimal columns as exact integers in their minor units (``accepted_frame``: 19.99 at
scale 2 is 1999), never as Python ``Decimal`` objects (one per cell: slow, and a cell-by-cell comparison
with a float bound) nor as floats; a column's minimum is scaled the same way.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
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
