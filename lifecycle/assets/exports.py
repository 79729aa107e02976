"""Export files: Python assets downstream of the night's gates, so nothing leaves an unaudited night.

Each reads the night it was asked for from the published warehouse, or, when the night was withheld,
from tonight's audited build if the foundation gate and its own domain's gate passed
(lifecycle.io.warehouse.audited_source); writes its file and control totals under ``exports/``; and
records what it sent in the export register (lifecycle.io.register). A night older than the published
one, or whose gates did not pass for the export's domain, exports nothing: the next night catches up.
"""


from collections.abc import Callable
from datetime import date

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from lifecycle import failpoints
from lifecycle.assets.warehouse import night_gates
from lifecycle.checks.gates import EXPORT_DOMAINS, Withheld, read_gates, write_gates
from lifecycle.checks.gates import Failure as GateFailure
from lifecycle.io import register
from lifecycle.io.access import export_access_changes
from lifecycle.io.exports import (
    ExportResult,
    deliver_outbox,
    export_autocharge_requests,
    export_gl,
    export_notice_mail,
    export_outbox,
    export_refund_requests,
)
from lifecycle.io.manifests import circulation_differences, export_manifests
from lifecycle.partitions import DAILY
from lifecycle.resources import LifecycleHome, partition_date
from lifecycle.settings import Settings

_COMMON = dict(
    partitions_def=DAILY,
    backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=1),
    group_name="exports",
)


def _metadata(value: object) -> object:
    return MetadataValue.json(value) if isinstance(value, (dict, list)) else value


def _export(context: AssetExecutionContext, write: Callable[[Settings, date], ExportResult], lifecycle: LifecycleHome,
            **fields: str) -> MaterializeResult:
    """Write one export file for the run's night; ``fields`` names the control totals shown as metadata."""
    try:
        result = write(lifecycle.settings(), partition_date(context.partition_key))
    except Withheld as exc:
        context.log.warning(str(exc))
        return MaterializeResult(metadata={"exported": False, "reason": str(exc)})
    return MaterializeResult(
        metadata={
            "exported": True,
            "path": MetadataValue.path(str(result.path)),
            "rows": result.rows,
            **{label: _metadata(result.control[name]) for label, name in fields.items()},
        }
    )


@asset(
    key=AssetKey(["exports", "autocharge_requests"]),
    deps=[night_gates],
    description="exports/autocharge/<D>/requests.csv: the autocharge attempts due for the payment processor.",
    kinds={"csv"},
    **_COMMON,
)
def autocharge_requests_file(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    return _export(context, export_autocharge_requests, lifecycle, amount_by_currency="amount_by_currency")


@asset(
    key=AssetKey(["exports", "refund_requests"]),
    deps=[night_gates],
    description="exports/refunds/<D>/requests.csv: the refunds decided at cancellations, for the payment "
    "processor, one per refund id, with control totals per currency.",
    kinds={"csv"},
    **_COMMON,
)
def refund_requests_file(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    return _export(context, export_refund_requests, lifecycle, amount_by_currency="amount_by_currency")


@asset(
    key=AssetKey(["exports", "access_changes"]),
    deps=[night_gates],
    description="exports/access/<D>/changes.csv: digital access grants and revocations for the gatekeeper, "
    "against the last set sent (the register); the cut-over night records the baseline and sends nothing.",
    kinds={"csv"},
    **_COMMON,
)
def access_changes_file(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    return _export(context, export_access_changes, lifecycle, grants="grants", revocations="revocations",
                   entitled="entitled")


@asset(
    key=AssetKey(["exports", "notice_mail"]),
    deps=[night_gates],
    description="exports/notices/<D>/mail.csv: the renewal notices that go by post, for the lettershop, "
    "sorted by postal code, with control totals.",
    kinds={"csv"},
    **_COMMON,
)
def notice_mail_file(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    return _export(context, export_notice_mail, lifecycle, amount_by_currency="amount_by_currency")


@asset(
    key=AssetKey(["exports", "outbox_messages"]),
    deps=[night_gates],
    description="exports/outbox/<D>/messages.jsonl: the customer messages due, for the messaging platform.",
    kinds={"json"},
    **_COMMON,
)
def outbox_messages_file(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    return _export(context, export_outbox, lifecycle, by_type="by_type", by_channel="by_channel")


@asset(
    key=AssetKey(["exports", "outbox_deliveries"]),
    deps=[outbox_messages_file],
    description="POSTs undelivered outbox messages to the webhook of lifecycle.toml (optional); "
    "exports/outbox/<D>/deliveries.csv records each outcome.",
    kinds={"csv"},
    **_COMMON,
)
def outbox_deliveries(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    settings = lifecycle.settings()
    result = deliver_outbox(settings, partition_date(context.partition_key))
    if result.path is None:
        return MaterializeResult(metadata={"delivered": 0, "skipped": result.skipped_reason})
    if result.failed:
        context.log.warning(f"{result.failed} of {result.attempted} messages not delivered; retried next run")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(result.path)),
            "attempted": result.attempted,
            "delivered": result.delivered,
            "failed": result.failed,
        }
    )


@asset(
    key=AssetKey(["exports", "gl_journal"]),
    deps=[night_gates],
    description="exports/gl/<period>/journal.csv (per account) and journal_detail.csv: the journal for the GL; "
    "open periods restated nightly, closed periods final.",
    kinds={"csv"},
    **_COMMON,
)
def gl_journal_files(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    return _export(context, export_gl, lifecycle, periods="periods")


@asset(
    key=AssetKey(["exports", "manifests"]),
    deps=[night_gates],
    description="exports/manifests/<D>/<shipper>/<issue>.csv (+ control.json): the copies to ship that are not "
    "in the register yet (main manifest on the list-close night, supplementary until the ship date); "
    "exports/draws/<D>/<printer>.csv: the print order with its spoilage allowance.",
    kinds={"csv"},
    **_COMMON,
)
def manifest_files(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    return _export(context, export_manifests, lifecycle, copies="copies", by_shipper="by_shipper", draws="draws")


@asset(
    key=AssetKey(["exports", "register_audit"]),
    deps=[autocharge_requests_file, refund_requests_file, outbox_messages_file, notice_mail_file, manifest_files,
          access_changes_file],
    description="Tonight's files against the export register: no key sent by two nights, each file's control total "
    "= the rows recorded as sent, and the circulation statement = the manifest lines and draws in the register. "
    "A problem closes the export's gate: the warehouse is withheld (what was sent stays sent).",
    check_specs=[
        AssetCheckSpec("register_matches_the_files", asset=AssetKey(["exports", "register_audit"]), blocking=False,
                       description="no key twice across nights; control totals = register rows"),
        AssetCheckSpec("circulation_matches_register", asset=AssetKey(["exports", "register_audit"]), blocking=False,
                       description="rpt_circulation_by_issue = the manifest lines and draws in the register, per "
                       "issue, country and kind (a fulfillment check)"),
    ],
    kinds={"python"},
    **_COMMON,
)
def export_register_audit(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    failpoints.reach("after_register")
    settings, day = lifecycle.settings(), partition_date(context.partition_key)
    problems = register.audit(settings, day)
    circulation: list[str] = []
    judged = register.register_path(settings, "manifest_lines", day).exists()
    if judged:  # tonight's manifests went out: the report and the register must agree
        try:
            circulation = circulation_differences(settings, day)
        except Withheld:
            judged = False
    gates = read_gates(settings, day)
    failures = [GateFailure(EXPORT_DOMAINS.get(line.split(":", 1)[0], "foundation"), "register_matches_the_files", line)
                for line in problems]
    if circulation:
        failures.append(GateFailure("fulfillment", "circulation_matches_register",
                                    f"{len(circulation)} difference{'s' if len(circulation) != 1 else ''}, "
                                    f"e.g. {circulation[0]}"))
    for line in problems + circulation[:20]:
        context.log.error(line)
    if failures and gates is not None:
        gates.failures += failures
        write_gates(settings, gates)
    return MaterializeResult(
        metadata={"problems": len(problems), "circulation_differences": len(circulation),
                  "circulation_judged": judged},
        check_results=[
            AssetCheckResult(check_name="register_matches_the_files", passed=not problems,
                             severity=AssetCheckSeverity.ERROR, metadata={"problems": MetadataValue.json(problems[:20])}),
            AssetCheckResult(check_name="circulation_matches_register", passed=not circulation,
                             severity=AssetCheckSeverity.ERROR,
                             metadata={"judged": judged, "differences": MetadataValue.json(circulation[:20])}),
        ],
    )


EXPORT_ASSETS = [
    autocharge_requests_file, refund_requests_file, outbox_messages_file, outbox_deliveries, notice_mail_file,
    gl_journal_files, manifest_files, access_changes_file, export_register_audit,
]
