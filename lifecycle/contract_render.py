"""Files generated from the feed contract: dbt sources, staging models and their YAML, docs/feeds.md.

``lifecycle contract --write`` rewrites them; ``tests/test_contract.py`` fails when a committed
file differs from what the contract renders, so validation, warehouse and documentation cannot drift.
"""

from __future__ import annotations

from pathlib import Path

from lifecycle.contract import (
    EARLIEST_DATE,
    FEEDS,
    INTEGER_DIGITS,
    LATEST_DATE,
    RULES,
    SCALE,
    SUPPORTED_CURRENCIES,
    TYPES,
    Column,
    Feed,
)
from lifecycle.settings import DEFAULT_EXPECTED_DAILY

REPO = Path(__file__).resolve().parent.parent
GENERATED_NOTE = "generated from lifecycle/contract.py by `lifecycle contract --write`; do not edit"


def _q(text: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def derived_date_column(col: Column) -> str | None:
    """Staging adds the business date of every timestamp: ``ordered_at`` → ``ordered_date``."""
    if col.type != "timestamp":
        return None
    return col.name[:-3] + "_date" if col.name.endswith("_at") else col.name + "_date"


def sources_yaml() -> str:
    lines = [
        f"# {GENERATED_NOTE}",
        "version: 2",
        "",
        "sources:",
        "  - name: raw",
        "    description: \"Accepted landing rows, one Parquet partition per feed and recorded date, written by ingestion.\"",
        "    config:",
        "      meta:",
        "        external_location: \"read_parquet('raw/{name}/*/data.parquet', hive_partitioning = false)\"",
        "    tables:",
    ]
    for f in FEEDS:
        lines += [
            f"      - name: {f.name}",
            f"        description: {_q(f.description)}",
            "        columns:",
        ]
        for c in f.columns:
            lines += [f"          - name: {c.name}", f"            description: {_q(c.description)}"]
        for name, desc in (
            ("_recorded_date", "Date of the landing file the row came from (its recorded date)."),
            ("_source_file", "Landing file, relative to the home."),
            ("_source_line", "Line of the row in that file (header = line 1)."),
        ):
            lines += [f"          - name: {name}", f"            description: {_q(desc)}"]
    lines += [
        "  - name: quarantine",
        "    description: \"Refused landing rows of every feed, with file, line, column, rule and original text.\"",
        "    config:",
        "      meta:",
        "        external_location: \"read_parquet('quarantine/*/*/data.parquet', hive_partitioning = false)\"",
        "    tables:",
        "      - name: quarantined_rows",
        "        description: \"One row per refused landing line.\"",
    ]
    return "\n".join(lines) + "\n"


def staging_sql(f: Feed) -> str:
    cols = []
    for c in f.columns:
        cols.append(f"        {c.name},")
        derived = derived_date_column(c)
        if derived:
            cols.append(f"        {{{{ to_business_date('{c.name}') }}}} as {derived},")
    key = ", ".join(f.key)
    header = [
        f"-- stg_{f.name}: {f.description}",
        f"-- {GENERATED_NOTE}",
        "",
        "with source as (",
        "",
        f"    select * from {{{{ source('raw', '{f.name}') }}}}",
        "    where _recorded_date <= {{ business_date() }}",
        "",
        "),",
        "",
        "renamed as (",
        "",
        "    select",
        *cols,
        "        _recorded_date as recorded_date,",
        "        _source_file as source_file,",
        "        _source_line as source_line",
        "    from source",
        "",
        "),",
        "",
    ]
    if f.is_event:
        body = [
            "deduplicated as (",
            "",
            (f"    {{{{ keep_first_occurrence('renamed', '{f.key[0]}') }}}}" if len(f.key) == 1 else
             f"    {{{{ keep_first_occurrence('renamed', {list(f.key)!r}) }}}}"),
            "",
            "),",
            "",
            "final as (",
            "",
            *(["    select * from deduplicated"] if not f.known_on else [
                "    select",
                "        deduplicated.*,",
                "        -- the night the pipeline first knew the row: its recorded date, or for the migration load the",
                f"        -- event's own date ({f.known_on})",
                f"        {{{{ known_date('recorded_date', '{f.known_on}') }}}} as known_date",
                "    from deduplicated",
            ]),
            "",
            ")",
        ]
    else:
        body = [
            "versioned as (",
            "",
            "    -- an upsert: each row is a version of its key, valid from its recorded date to the next one",
            "    select",
            "        renamed.*,",
            "        recorded_date as valid_from,",
            f"        lead(recorded_date) over (partition by {key} order by recorded_date) as valid_to",
            "    from renamed",
            "",
            "),",
            "",
            "final as (",
            "",
            "    select",
            "        versioned.*,",
            "        valid_to is null as is_current",
            "    from versioned",
            "",
            ")",
        ]
    return "\n".join(header + body + ["", "select * from final", ""])


def _column_tests(f: Feed, c: Column) -> list[str]:
    tests: list[str] = []
    if c.required:
        tests.append("              - not_null")
    if len(f.key) == 1 and c.name == f.key[0] and f.is_event:
        tests.append("              - unique")
    if c.allowed:
        tests += [
            "              - accepted_values:",
            "                  arguments:",
            f"                    values: [{', '.join(_q(v) for v in c.allowed)}]",
        ]
    if c.type == "currency":
        tests += [
            "              - accepted_values:",
            "                  arguments:",
            f"                    values: [{', '.join(_q(v) for v in SUPPORTED_CURRENCIES)}]",
        ]
    if c.references:
        ref_feed, ref_col = c.references.split(".")
        tests += [
            "              - relationships:",
            "                  arguments:",
            f"                    to: ref('stg_{ref_feed}')",
            f"                    field: {ref_col}",
        ]
    return tests


def staging_yaml() -> str:
    lines = [f"# {GENERATED_NOTE}", "version: 2", "", "models:"]
    for f in FEEDS:
        kind = ("events: one row per id, as recorded on or before the business date"
                if f.is_event else
                "versions: one row per key and recorded date (valid_from, valid_to, is_current as of the business date)")
        key_cols = list(f.key) + ([] if f.is_event else ["valid_from"])
        lines += [
            f"  - name: stg_{f.name}",
            f"    description: {_q(f.description + ' Staged ' + kind + '.')}",
            "    config:",
            "      tags: [\"staging\", \"foundation\"]",
            "    data_tests:",
            "      - unique_combination_of_columns:",
            "          arguments:",
            f"            combination_of_columns: [{', '.join(key_cols)}]",
            "    columns:",
        ]
        for c in f.columns:
            lines += [f"      - name: {c.name}", f"        description: {_q(c.description)}"]
            tests = _column_tests(f, c)
            if tests:
                lines += ["        data_tests:"] + [t[4:] for t in tests]
            derived = derived_date_column(c)
            if derived:
                lines += [f"      - name: {derived}",
                          f"        description: {_q(f'Business date of {c.name}, in the business time zone.')}"]
        lines += [
            "      - name: recorded_date",
            "        description: \"Date of the landing file the row came from.\"",
            "        data_tests:",
            "          - not_null",
            "      - name: source_file",
            "        description: \"Landing file, relative to the home.\"",
            "      - name: source_line",
            "        description: \"Line in that file (header = line 1).\"",
        ]
        if f.known_on:
            lines += [
                "      - name: known_date",
                f"        description: \"{{{{ doc('known_date') }}}} Here the migration load's is {f.known_on}.\"",
                "        data_tests:",
                "          - not_null",
            ]
        if not f.is_event:
            lines += [
                "      - name: valid_from",
                "        description: \"First business date this version is in force (its recorded date).\"",
                "      - name: valid_to",
                "        description: \"Recorded date of the next version (exclusive); empty for the current one.\"",
                "      - name: is_current",
                "        description: \"True for the version in force on the business date.\"",
            ]
    return "\n".join(lines) + "\n"


def feeds_markdown() -> str:
    from lifecycle import contract as contract_module

    out = [
        "# Feed contract",
        "",
        f"<!-- {GENERATED_NOTE} -->",
        "",
        "Every file a publisher delivers lands in `landing/<feed>/<YYYY-MM-DD>.csv`, the date being the",
        "date the data was *recorded*. This page lists each feed's columns, types, keys, rules and",
        "references. Validation and the warehouse's sources are generated from the same contract.",
        "",
        "## File format",
        "",
        (contract_module.__doc__ or "").split("File format shared by every feed:", 1)[-1].strip(),
        "",
        "**Reference feeds** (products, offers, customers, …) are *upserts*: a row for a key already",
        "delivered is a new version, in force from its recorded date. **Transactional feeds** are",
        "immutable *events* with their own id: an id seen before is quarantined as `duplicate_id`.",
        "",
        "**Daily files.** A night waits for a file from each of "
        + ", ".join(f"`{f}`" for f in DEFAULT_EXPECTED_DAILY) + " (a home's `[feeds] expected_daily`):",
        "send one every day, with only its header line when the day had no events. The other feeds send a file",
        "when they have something to say.",
        "",
        "Supported currencies (two minor units): " + ", ".join(f"`{c}`" for c in SUPPORTED_CURRENCIES) + ".",
        "",
        "## Types",
        "",
        "| type | parsed as | stored as | plausible values |",
        "|---|---|---|---|",
    ]
    for name, t in TYPES.items():
        if name in INTEGER_DIGITS:
            bound = f"at most {INTEGER_DIGITS[name]} digits before the point"
            if name in SCALE:
                bound += f", {SCALE[name]} places after it (extra zeros aside)"
        elif name in ("date", "timestamp"):
            bound = f"{EARLIEST_DATE} to {LATEST_DATE}" + (" (local date)" if name == "timestamp" else "")
        else:
            bound = ""
        out.append(f"| {name} | `{t['read']}` | `{t['store']}` | {bound} |")
    out += ["", "A number is read as text and converted only when the text is exact and plausible: it is never",
            "rounded to fit its column, and a value too large is `out_of_range`, not an overflow."]
    out += ["", "## Quarantine rules", "",
            "A refused line goes to `quarantine/<feed>/recorded_date=<D>/data.parquet` with the file, line,",
            "column, rule, message and original text. When a line breaks several rules, the first in this",
            "order is its rule and the others are listed in `other_failures`.", "",
            "| rule | meaning |", "|---|---|"]
    out += [f"| `{r}` | {d} |" for r, d in RULES.items()]
    out += ["", "Line numbers are physical lines of the file (the header is line 1), whatever the line ends.",
            "A record is one line: a quote left open refuses its own line only, and a value may not span lines.", "",
            "A file that is not UTF-8, or whose header misses a contract column, names an unknown one or",
            "repeats one, is *broken*: its feed ingests nothing for that date and the night is not published.", ""]
    for f in FEEDS:
        out += [f"## `{f.name}`", "", f.description, "",
                f"- kind: {'transactional (events)' if f.is_event else 'reference (upserts)'}",
                f"- key: {', '.join(f'`{k}`' for k in f.key)}"]
        if f.upstream_feeds:
            out.append(f"- ingested after: {', '.join(f'`{u}`' for u in f.upstream_feeds)}")
        if f.known_on:
            out.append(f"- known on: the recorded date; for the migration load, `{f.known_on}` (when the legacy "
                       "system knew it)")
        out += ["", "| column | type | required | rules | description |", "|---|---|---|---|---|"]
        for c in f.columns:
            rules = []
            if c.allowed:
                rules.append("one of " + ", ".join(f"`{v}`" for v in c.allowed))
            if c.minimum is not None:
                rules.append(f"≥ {c.minimum}")
            if c.references:
                rules.append(f"references `{c.references}`")
            if c.event_time:
                rules.append("not after the recorded date")
            out.append(f"| `{c.name}` | {c.type} | {'yes' if c.required else 'no'} | {'; '.join(rules)} | {c.description} |")
        if f.row_rules:
            out += ["", "Row rules:", ""]
            out += [f"- `{r.rule}` on `{r.column}`: {r.description}" for r in f.row_rules]
        if f.seed_lookups:
            out += ["", "Reads the dbt seed(s) " + ", ".join(f"`{s}`" for s in f.seed_lookups)
                    + " (with the deployment's overrides in `lifecycle.toml`)."]
        if f.group_key:
            out += ["", f"Lines with the same {', '.join(f'`{k}`' for k in f.group_key)} are accepted or refused "
                    "together: when any line is refused, the others are refused as `entry_refused`, naming the "
                    "line. Rules over the whole group (every line refused):", ""]
            out += [f"- `{r.rule}` on `{r.column}`: {r.description}" for r in f.group_rules]
        if f.limits:
            out += ["", "Running limits (in file order, after the rows of earlier files; rows refused for another "
                    "reason do not count):", ""]
            out += [f"- `{r.rule}` on `{r.column}`: {r.description}" for r in f.limits]
        out.append("")
    out += _migration_control_markdown()
    return "\n".join(out)


def _migration_control_markdown() -> list[str]:
    from lifecycle.contract import CONTROLLED_SLICE_NOTES, MIGRATION_CONTROL

    f = MIGRATION_CONTROL
    out = [f"## `{f.name}` (with the migration load only)", "", f.description, "",
           "- file: `landing/migration_control/<cut-over date>.csv`, optional; read on the cut-over night only",
           f"- key: {', '.join(f'`{k}`' for k in f.key)} (one line each; a currency without a line expects none)",
           "- a line that breaks a rule below makes the file broken: the feeds it controls ingest nothing", "",
           "| column | type | required | rules | description |", "|---|---|---|---|---|"]
    for c in f.columns:
        rules = []
        if c.allowed:
            rules.append("one of " + ", ".join(f"`{v}`" for v in c.allowed))
        if c.minimum is not None:
            rules.append(f"≥ {c.minimum}")
        out.append(f"| `{c.name}` | {c.type} | {'yes' if c.required else 'no'} | {'; '.join(rules)} | {c.description} |")
    out += ["", "What each `feed` value counts, in the migration files (`landing/<feed>/<cut-over date>.csv`):", ""]
    out += [f"- `{name}`: {note}" for name, note in CONTROLLED_SLICE_NOTES.items()]
    out += ["", "Only accepted rows count: a quarantined migration row is missing from the load, so the totals",
            "no longer match and the feed stops until the row is corrected and the file delivered again.", ""]
    return out


def rendered_files(root: Path = REPO) -> dict[Path, str]:
    files = {
        root / "dbt_project" / "models" / "staging" / "_sources.yml": sources_yaml(),
        root / "dbt_project" / "models" / "staging" / "_staging.yml": staging_yaml(),
        root / "docs" / "feeds.md": feeds_markdown(),
    }
    for f in FEEDS:
        files[root / "dbt_project" / "models" / "staging" / f"stg_{f.name}.sql"] = staging_sql(f)
    return files


def write_rendered(root: Path = REPO) -> list[Path]:
    written = []
    for path, text in rendered_files(root).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
