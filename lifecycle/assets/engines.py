"""What the engine assets share: read tonight's build, write what dbt reads as ``source('engine', name)``.

An engine asset (lifecycle/assets/billing.py, fulfillment.py) runs between two dbt steps of the night: it
reads the models it needs from ``build/warehouse.duckdb`` (closed by dbt after the step before), calls a
tested function of lifecycle/billing or lifecycle/fulfillment with the knobs of ``Settings``, and writes
``build/engine/<name>.parquet``, which the next dbt step reads.
"""


from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from lifecycle.assets.dbt_project import model_key
from lifecycle.billing import carry
from lifecycle.io import dbt
from lifecycle.io.warehouse import build_relations, engine_output, write_engine_parts, write_node_results
from lifecycle.partitions import DAILY
from lifecycle.resources import LifecycleHome, partition_date
from lifecycle.settings import Settings

#: a run tagged so recomputes every engine's night from its inputs alone (``lifecycle nightly --full-refresh``)
FULL_REFRESH_TAG = "lifecycle/full_refresh"


@dataclass(frozen=True)
class EngineState:
    """Where an engine keeps its nights (``state/engines/<name>``, lifecycle.billing.carry), and whether tonight may
    reuse them (not on a full refresh)."""

    folder: Path
    reuse: bool


@dataclass(frozen=True)
class Engine:
    name: str  # the table of source('engine', name)
    inputs: tuple[str, ...]  # the dbt models it reads
    #: the batches it walks (``[warehouse] engine_batch`` subscriptions or customers at a time): a table per part each;
    #: its last argument is where it may keep its night for the next (an engine that does not ignores it)
    run: Callable[[Settings, date, dict[str, Any], EngineState | None], Iterable[Mapping[str, pa.Table]]]
    parts: tuple[str, ...]  # its record types, in the order of its file
    schema: pa.Schema  # its file's columns
    description: str
    number: str | None = None  # the column numbering its rows 1, 2, … in the file's order, if any

    @property
    def key(self) -> AssetKey:
        return AssetKey(["engine", self.name])


def engine_asset(engine: Engine, group: str) -> AssetsDefinition:
    @asset(
        key=engine.key,
        deps=[model_key(name) for name in engine.inputs],
        partitions_def=DAILY,
        backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=1),
        group_name=group,
        description=f"{engine.description} Written to build/engine/{engine.name}.parquet, read by dbt as "
        f"source('engine', '{engine.name}').",
        kinds={"python", "parquet"},
    )
    def run_engine(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
        settings, day = lifecycle.settings(), partition_date(context.partition_key)
        parsed, _ = dbt.manifest(settings)
        relations = dbt.relation_names(parsed)
        try:
            with build_relations(settings, {name: relations[name] for name in engine.inputs}) as inputs:
                state = EngineState(settings.state / "engines" / engine.name,
                                    reuse=context.run.tags.get(FULL_REFRESH_TAG) != "true")
                rows = write_engine_parts(engine_output(settings, engine.name),
                                          engine.run(settings, day, inputs, state), engine.parts, engine.schema,
                                          engine.number)
        except Exception as exc:  # recorded for the gates; the night goes on (see lifecycle/assets/warehouse.py)
            message = f"engine {engine.name} failed: {type(exc).__name__}: {exc}"
            context.log.error(message)
            readers = [uid for uid, node in parsed.nodes.items()
                       if f"source.{node.package_name}.engine.{engine.name}" in getattr(node.depends_on, "nodes", ())]
            write_node_results(settings, f"engine_{engine.name}", [
                {"unique_id": uid, "status": "error", "failures": None, "message": message[:1000], "seconds": 0.0}
                for uid in readers])
            return MaterializeResult(metadata={"rows": 0, "failed": message[:1000]})
        metadata: dict[str, Any] = {"rows": rows, "path": MetadataValue.path(str(engine_output(settings, engine.name)))}
        kept = carry.night_summary(state.folder, day)
        if kept is not None:  # an engine that keeps its nights: how much of tonight it walked
            metadata.update({name: kept.get(name) for name in ("keys", "walked", "reused")})
            metadata["reused_from"] = kept.get("reused_from") or "none"
            context.log.info(f"engine {engine.name}: walked {kept.get('walked')} of {kept.get('keys')} keys, "
                             f"reused the others from night {kept.get('reused_from') or 'none'}")
        return MaterializeResult(metadata=metadata)

    return run_engine


def engine_assets(engines: Iterable[Engine], group: str) -> list[AssetsDefinition]:
    return [engine_asset(e, group) for e in engines]
