"""Settings, partitions and the nightly schedule."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dagster import AssetKey, build_schedule_context

from lifecycle.settings import DEFAULT_TOML, Settings, load_settings, parse_settings
from tests.landing_files import write_feed


def test_defaults_are_the_documented_ones(tmp_path):
    s = parse_settings(tmp_path, DEFAULT_TOML)
    assert s == Settings(home=tmp_path)
    assert s.billing_effort_offsets == (0, 21, 42, 63)
    assert s.renewal_notice_offsets == (-60, -30, -7, 0, 14)
    assert (s.functional_currency, s.timezone, s.cutover_date) == ("USD", "America/New_York", None)


def test_settings_file_overrides(tmp_path):
    s = parse_settings(tmp_path, """
[business]
functional_currency = "EUR"
timezone = "Europe/Paris"
cutover_date = "2026-11-13"
[billing]
billing_effort_offsets = [0, 30]
[close]
periods = { "2026-10" = "2026-11-05" }
""")
    assert (s.functional_currency, s.timezone, s.cutover_date) == ("EUR", "Europe/Paris", date(2026, 11, 13))
    assert s.billing_effort_offsets == (0, 30)
    assert s.period_close == {"2026-10": date(2026, 11, 5)}
    dbt_vars = s.dbt_vars()
    assert {k: dbt_vars[k] for k in ("business_timezone", "functional_currency", "cutover_date")} == {
        "business_timezone": "Europe/Paris", "functional_currency": "EUR", "cutover_date": "2026-11-13"}
    assert "business_date" not in dbt_vars  # a new date every night would throw dbt's partial parse away
    assert s.engine_knobs(date(2026, 11, 20))["business_date"] == "2026-11-20"
    assert dbt_vars["billing_effort_offsets"] == [0, 30]
    assert dbt_vars["autocharge_retry_offsets"] == [3, 7]


def test_renewal_offer_rules_replace_the_seed_and_are_checked(tmp_path):
    s = parse_settings(tmp_path, """
[renewals]
offer_rules = [
  { rule_id = "R-ANY", priority = 99, action = "same_offer" },
  { rule_id = "R-STUDENT", priority = 5, segment = "student", action = "offer", offer_id = "DIG12-STU" },
]
""")
    rules = s.dbt_vars()["renewal_offer_rules"]
    assert [(r["rule_id"], r["priority"], r["segment"], r["offer_id"]) for r in rules] == [
        ("R-STUDENT", 5, "student", "DIG12-STU"), ("R-ANY", 99, None, None)]
    bad = [
        ('{ rule_id = "R1", priority = 1, action = "upsell" }', "action must be one of"),
        ('{ rule_id = "R1", priority = 1, action = "offer" }', "offer_id goes with action offer"),
        ('{ rule_id = "R1", priority = 1, action = "same_offer", tenure = "third" }', "tenure must be one of"),
        ('{ rule_id = "R1", priority = 1, action = "same_offer" }, { rule_id = "R2", priority = 1, action = "same_offer" }',
         "share a priority"),
    ]
    for rules_text, message in bad:
        with pytest.raises(ValueError, match=message):
            parse_settings(tmp_path, f"[renewals]\noffer_rules = [{rules_text}]\n")
    with pytest.raises(ValueError, match="increasing order"):
        parse_settings(tmp_path, "[renewals]\nrenewal_notice_offsets = [0, -30]\n")


def test_duckdb_resources_come_from_the_warehouse_section(tmp_path):
    """[warehouse] sets DuckDB's memory limit, threads and spill folder on the engines' connection (and, through the
    profile's environment, dbt's); a wrong value is refused when the settings are read, naming it."""
    import duckdb

    from lifecycle.io.warehouse import build_relations

    settings = parse_settings(tmp_path, '[warehouse]\nmemory_limit = "1GB"\nthreads = 1\ntemp_directory = "scratch"\n')
    assert settings.duckdb_env() == {"LIFECYCLE_DUCKDB_MEMORY_LIMIT": "1GB", "LIFECYCLE_DUCKDB_THREADS": "1",
                                     "LIFECYCLE_DUCKDB_TEMP_DIRECTORY": str(tmp_path / "scratch")}
    assert parse_settings(tmp_path, "").duckdb_config() == {
        "memory_limit": "4GB", "threads": "2", "temp_directory": str(tmp_path / "build" / "spill")}
    settings.build_dir.mkdir(parents=True)
    duckdb.connect(str(settings.build_warehouse)).execute("create table t as select 1 as x").close()
    with build_relations(settings, {"t": "t"}) as relations:
        got = relations["t"].query("t", "select current_setting('memory_limit'), current_setting('threads'), "
                                        "current_setting('temp_directory') from t").fetchall()
    assert got == [("953.6 MiB", 1, str(tmp_path / "scratch"))]
    for text, message in [('memory_limit = "lots"', "memory_limit 'lots' is not a size"),
                          ("threads = 0", "threads 0 is not a whole number"),
                          ('spill = "x"', "unknown key(s) ['spill']")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            parse_settings(tmp_path, f"[warehouse]\n{text}\n")


def test_dbt_opens_the_build_with_duckdbs_resources_once_not_per_cursor():
    """The memory limit, threads and spill folder are given when dbt opens the build (``config_options``), not set
    on every cursor (``settings``): once a model has spilled, DuckDB refuses to set the spill folder again, even to
    the same folder, and every model after it failed (seen at 1,000,000 customers)."""
    import yaml

    from lifecycle.io.dbt import DBT_PROJECT_DIR

    build = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())["subscription_lifecycle"]["outputs"]["build"]
    assert set(build["config_options"]) == {"memory_limit", "threads", "temp_directory"}
    assert set(build["settings"]) == {"TimeZone", "file_search_path"}


def test_the_warehouse_kind_decides_whether_a_night_publishes_on_postgres_or_spark(home):
    """[warehouse] kind = "postgres" or "spark" adds that warehouse's publication after the DuckDB one; the default
    has none; a kind, role name, Spark master or folder the warehouse could not take is refused when the settings
    are read."""
    from lifecycle.definitions import build_definitions

    def steps(text: str) -> list[str]:
        toml = home.home / "lifecycle.toml"
        toml.write_text(re.sub(r'(?m)^kind = "\w+"', text, toml.read_text(encoding="utf-8")), encoding="utf-8")
        load_settings.cache_clear()
        job = build_definitions(str(home.home)).resolve_job_def("nightly")
        return [key.to_user_string() for key in job.asset_layer.executable_asset_keys
                if key.path[-1] in ("published_warehouse", "postgres_warehouse", "spark_warehouse")]

    assert home.warehouse_kind == "duckdb" and home.finance_role == "finance"
    assert sorted(steps('kind = "duckdb"')) == ["published_warehouse"]
    assert sorted(steps('kind = "postgres"')) == ["postgres_warehouse", "published_warehouse"]
    assert sorted(steps('kind = "spark"')) == ["published_warehouse", "spark_warehouse"]
    assert (home.spark_master, home.spark_warehouse, home.spark_memory) == (
        "local[2]", home.home / "spark-warehouse", "4g")
    cluster = parse_settings(home.home, '[warehouse]\nspark_master = "spark://10.0.0.5:7077"\n'
                                        'spark_warehouse = "/mnt/shared/sw"\n')
    assert (cluster.spark_master, cluster.spark_warehouse) == ("spark://10.0.0.5:7077", Path("/mnt/shared/sw"))
    tuned = parse_settings(home.home, '[warehouse]\nspark_conf = { "spark.executor.memory" = "8g", '
                                      '"spark.executor.instances" = 4, "spark.sql.adaptive.enabled" = false }\n')
    assert tuned.spark_conf == {"spark.executor.memory": "8g", "spark.executor.instances": "4",
                                "spark.sql.adaptive.enabled": "false"}
    assert parse_settings(home.home, '[warehouse]\nspark_warehouse = "sw"\n').spark_warehouse == home.home / "sw"
    assert home.spark_engines and not parse_settings(home.home, "[warehouse]\nspark_engines = false\n").spark_engines
    for text, message in [('kind = "oracle"', "kind 'oracle' is not one of 'duckdb', 'postgres', 'spark'"),
                          ('finance_role = "Finance; drop"', "finance_role 'Finance; drop' is not a PostgreSQL role"),
                          ('spark_master = "local[2]; rm"', "spark_master 'local[2]; rm' is not local[N], yarn"),
                          ('spark_warehouse = "a`b"', "spark_warehouse 'a`b' is not a folder path"),
                          ('spark_memory = "lots"', "spark_memory 'lots' is not a JVM size"),
                          ('spark_conf = { "executor.memory" = "8g" }', "spark_conf must be a table of Spark settings"),
                          ('spark_engines = "yes"', "spark_engines 'yes' is not true or false")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            parse_settings(home.home, f"[warehouse]\n{text}\n")


def test_unknown_section_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown section"):
        parse_settings(tmp_path, "[biling]\nx = 1\n")


def test_schedule_runs_the_night_that_just_ended(home):
    from lifecycle.definitions import build_definitions

    write_feed(home, "orders", date(2026, 11, 20), [])  # the night has its files (a hand-written home expects no more)
    defs = build_definitions(str(home.home))
    schedule = defs.resolve_schedule_def("nightly_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 2 * * *", "America/New_York")
    tick = datetime(2026, 11, 21, 2, 30, tzinfo=ZoneInfo("America/New_York"))
    request = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=tick, repository_def=defs.get_repository_def())).run_requests[0]
    assert request.partition_key == "2026-11-20"


def test_every_asset_of_a_night_is_in_the_job():
    from lifecycle.definitions import defs

    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"raw/orders", "raw/payments", "staging/stg_orders", "marts/fct_quarantined_rows", "published_warehouse",
            "pipeline/night", "engine/billing_chains", "engine/cash_application", "engine/continuity_shipments",
            "intermediate/int_billing_chains", "marts/fct_continuity_shipments"} <= keys
    graph = defs.resolve_asset_graph()
    # one lineage: staging → the chain engine → the model dbt reads it as → cash application → …
    assert AssetKey(["staging", "stg_orders"]) in graph.get(AssetKey(["engine", "billing_chains"])).parent_keys
    assert AssetKey(["engine", "billing_chains"]) in graph.get(
        AssetKey(["intermediate", "int_billing_chains"])).parent_keys
    assert AssetKey(["intermediate", "int_invoices"]) in graph.get(AssetKey(["engine", "cash_application"])).parent_keys
    # dbt tests are not one asset check each: the gates hold one check per domain
    assert sorted(k.name for k in graph.asset_check_keys if k.asset_key == AssetKey("night_gates")) == [
        "billing_gate", "finance_gate", "foundation_gate", "fulfillment_gate"]
    assert not [k for k in graph.asset_check_keys if k.asset_key.path[0] in ("staging", "intermediate", "marts")]
    assert defs.resolve_job_def("nightly").partitions_def.start.date() == date(2020, 1, 1)


def test_each_dbt_step_selects_by_graph_exactly_its_models(tmp_path, monkeypatch):
    """A night selects each whole dbt step by engine graph operators (cheap), the Dagster assets hold each step's
    models by name: the two must be the same models, or a model would be built twice, or never."""
    from dbt.cli.main import dbtRunner

    from lifecycle.assets.dbt_project import node_key
    from lifecycle.assets.warehouse import LEVELS, STEPS, WAREHOUSE_STEPS, selection_args, step_selection
    from lifecycle.io.dbt import DBT_PROJECT_DIR

    monkeypatch.setenv("LIFECYCLE_HOME", str(tmp_path))
    assert sorted(LEVELS.values()) == [1, 2, 3] and sorted(STEPS) == [0, 1, 2, 3]
    common = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
              "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"), "--quiet"]
    parsed = dbtRunner().invoke(["parse", *common]).result  # once, for the four listings
    for number, unique_ids in STEPS.items():
        result = dbtRunner(manifest=parsed).invoke([
            "ls", *common, *selection_args(*step_selection(number, LEVELS)), "--resource-type", "model", "seed",
            "--output", "json", "--output-keys", "unique_id"])
        assert result.success, result.exception
        listed = sorted(json.loads(line)["unique_id"] for line in result.result)
        assert listed == sorted(unique_ids), f"step {number}"
        # and the step's asset holds the same models (dagster-dbt selects with dbt's selector too)
        assert {key for key in WAREHOUSE_STEPS[number].keys} == {node_key(uid) for uid in unique_ids}


def test_one_parse_serves_every_home_with_the_same_settings(tmp_path):
    """The parsed project names no home: the sources' files are relative to the home, which the profile hands
    DuckDB as its file search path; so homes with the same settings share one parse, and other settings do not."""
    from lifecycle.assets.dbt_project import project_manifest
    from lifecycle.io import dbt

    locations = [s["config"]["meta"]["external_location"] if "external_location" in s["config"].get("meta", {})
                 else s["meta"]["external_location"] for s in project_manifest()["sources"].values()]
    assert len(locations) >= 25
    for location in locations:
        path = location.split("'")[1]
        assert not path.startswith(("/", ".")) and "LIFECYCLE_HOME" not in location, location
    first, second, other = (parse_settings(tmp_path / name, text) for name, text in (
        ("a", DEFAULT_TOML), ("b", DEFAULT_TOML), ("c", DEFAULT_TOML.replace("billing_suspension_days = 14", "billing_suspension_days = 9"))))
    assert dbt.fingerprint(first) == dbt.fingerprint(second) != dbt.fingerprint(other)
    # a home's cut-over date is compiled into its SQL, but parsed with neither: two cut-overs, one parse
    cutover = parse_settings(tmp_path / "d", DEFAULT_TOML.replace('cutover_date = ""', 'cutover_date = "2026-11-13"'))
    assert cutover.cutover_date == date(2026, 11, 13)
    assert dbt.fingerprint(cutover) != dbt.fingerprint(first)
    assert dbt.fingerprint(cutover, parsing=True) == dbt.fingerprint(first, parsing=True)
    assert dbt.fingerprint(other, parsing=True) != dbt.fingerprint(first, parsing=True)
    with pytest.raises(ValueError, match="a home's path may not contain a comma"):
        parse_settings(tmp_path / "a,b", DEFAULT_TOML)


#: what compiling a node fills in: the process's parsed project is compiled in place by every night it ran before
_COMPILED = ("compiled", "compiled_code", "compiled_path", "build_path", "extra_ctes", "extra_ctes_injected")


def _parsed_dependencies(node: dict) -> dict:
    """What dbt's parse recorded of a node, as a set where dbt lists a ref or source once per call. Which macros a
    node calls is left out: dbt compiles with every macro of the project whatever the parse listed."""
    kept = {k: v for k, v in node.items() if k not in ("created_at", "refs", "sources", "depends_on", *_COMPILED)}
    for key in ("refs", "sources"):
        if key in node:
            kept[key] = sorted({json.dumps(item, sort_keys=True) for item in node[key]})
    if "depends_on" in node:
        kept["depends_on"] = sorted(set(node["depends_on"].get("nodes", [])))
    return kept


def test_the_cutover_vars_change_no_parsed_dependency(tmp_path, monkeypatch):
    """The parse is shared by homes whatever their cut-over date (lifecycle.io.dbt.RUNTIME_VARS): parsed with and
    without one, dbt records the same nodes, with the same dependencies and configs, and the same tests. A model
    that put a ref() or a config() behind the cut-over var would fail here; what the var changes in the SQL is
    compiled at run time with the home's value."""
    from dbt.cli.main import dbtRunner

    from lifecycle.io import dbt

    settings = parse_settings(tmp_path / "home", DEFAULT_TOML.replace('cutover_date = ""', 'cutover_date = "2026-11-13"'))
    assert {name: settings.dbt_vars()[name] for name in dbt.RUNTIME_VARS} == {
        "cutover_date": "2026-11-13", "opening_date": "2026-10-31"}
    # the parse every home shares (the cut-over blank: the session's parse cache holds it) and one with the date
    shared, _ = dbt.manifest(settings)
    result = dbtRunner().invoke([
        "parse", "--no-partial-parse", "--project-dir", str(dbt.DBT_PROJECT_DIR),
        "--profiles-dir", str(dbt.DBT_PROJECT_DIR), "--target-path", str(tmp_path / "target"),
        "--log-path", str(tmp_path / "target"), "--vars", json.dumps(settings.dbt_vars(), sort_keys=True), "--quiet"])
    dbt._release_duckdb()
    assert result.success, result.exception
    recorded = []
    for parsed in (shared, result.result):
        written = parsed.writable_manifest().to_dict()
        recorded.append({kind: {uid: _parsed_dependencies(node) for uid, node in written[kind].items()}
                         for kind in ("nodes", "sources", "unit_tests", "macros")})
    blank, dated = recorded
    assert sum(len(v) for v in blank.values()) > 800
    for kind in blank:
        assert blank[kind].keys() == dated[kind].keys(), kind
        differ = [uid for uid in blank[kind] if blank[kind][uid] != dated[kind][uid]]
        assert differ == [], f"{kind}: {differ[:5]}"
    # The data tests compiled without and with the cut-over: those whose SQL differs are among the few a home
    # compiles for its own cut-over (dbt.runtime_var_tests); the others are compiled once for every home.
    compiled = []
    (tmp_path / "home" / "build").mkdir(parents=True)  # dbt compiles connected to the home's build
    monkeypatch.setenv("LIFECYCLE_HOME", str(tmp_path / "home"))
    for variables in (dbt.parse_vars(settings), settings.dbt_vars()):
        result = dbtRunner(manifest=shared).invoke([
            "compile", "--select", "resource_type:test", "--project-dir", str(dbt.DBT_PROJECT_DIR),
            "--profiles-dir", str(dbt.DBT_PROJECT_DIR), "--target-path", str(tmp_path / "compiled"),
            "--log-path", str(tmp_path / "compiled"), "--vars", json.dumps(variables, sort_keys=True), "--quiet",
            "--no-write-json"])
        dbt._release_duckdb()
        assert result.success, result.exception
        compiled.append({r.node.unique_id: r.node.compiled_code for r in result.result.results})
    assert len(compiled[0]) > 400 and compiled[0].keys() == compiled[1].keys()
    changed = {uid for uid in compiled[0] if compiled[0][uid] != compiled[1][uid]}
    dependent = dbt.runtime_var_tests(shared)
    assert changed <= dependent and len(changed) >= 3, (changed - dependent, changed)
    assert "test.subscription_lifecycle.assert_opening_balances_are_the_migrated_history" in changed


def test_every_relation_name_fits_postgres():
    """PostgreSQL truncates or refuses a name longer than 63 bytes: a model, seed or unit test (its fixture tables
    are named after it) with a longer name builds on DuckDB and fails on the server."""
    from lifecycle.assets.dbt_project import project_manifest

    manifest = project_manifest()
    names = [n["name"] for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")]
    names += [u["name"] for u in manifest["unit_tests"].values()]
    assert len(names) > 150
    assert [name for name in names if len(name.encode()) > 63] == []


def test_no_dbt_python_model_remains():
    root = Path(__file__).resolve().parents[1] / "dbt_project" / "models"
    assert [p for p in root.rglob("*.py")] == []


def test_sql_command_reads_the_published_warehouse_only(home, capsys):
    import duckdb

    from lifecycle.cli import main

    con = duckdb.connect(str(home.warehouse))
    con.execute("create schema marts; create table marts.t as select 12.34::decimal(18,2) as amount")
    con.close()
    assert main(["sql", "--home", str(home.home), "select amount from marts.t"]) == 0
    assert "12.34" in capsys.readouterr().out
    assert main(["sql", "--home", str(home.home), "select * from read_csv('/etc/hostname')"]) == 1
    assert "query refused" in capsys.readouterr().err


def test_a_homes_instance_keeps_its_event_log_connections_open_and_upgrades_an_older_yaml(tmp_path, monkeypatch):
    """The CLI's instance stores events through NightEventLogStorage (one open connection per database, in
    write-ahead-log mode) in Dagster's usual place; a dagster.yaml from before it gains the entry and keeps the rest."""
    import sqlite3

    from dagster import AssetMaterialization, job, op

    from lifecycle.pipelines.event_log import NightEventLogStorage
    from lifecycle.pipelines.night import night_instance
    from lifecycle.settings import init_home

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = tmp_path / "home"
    init_home(home)
    (home / "dagster").mkdir()
    yaml = home / "dagster" / "dagster.yaml"
    yaml.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")  # a home from before the run limit
    settings = parse_settings(home, (home / "lifecycle.toml").read_text(encoding="utf-8"))

    @op
    def publish_something(context):
        context.log_event(AssetMaterialization(asset_key="something"))

    @job
    def tiny():
        publish_something()

    with night_instance(settings, ephemeral=False) as instance:
        assert isinstance(instance.event_log_storage, NightEventLogStorage)
        assert tiny.execute_in_process(instance=instance).success
        records = instance.fetch_materializations(AssetKey("something"), limit=10).records
        assert len(records) == 1
        run_id = records[0].run_id
        assert len(instance.all_logs(run_id)) > 5
    text = yaml.read_text(encoding="utf-8")
    assert text.startswith("telemetry:\n  enabled: false\n")
    assert "max_concurrent_runs: 1" in text and "class: NightEventLogStorage" in text
    shard = home / "dagster" / "history" / "runs" / f"{run_id}.db"
    assert sqlite3.connect(shard).execute("pragma journal_mode").fetchone() == ("wal",)
    with night_instance(settings, ephemeral=False) as again:  # a second process reads the same history
        assert again.fetch_materializations(AssetKey("something"), limit=10).records[0].run_id == run_id
    assert yaml.read_text(encoding="utf-8") == text  # nothing added twice


def test_prepare_leaves_a_parse_that_a_new_home_with_a_cutover_reuses(tmp_path, capsys):
    """`lifecycle prepare` (run by make install) parses the project for the default settings into the dbt cache
    and compiles the data tests; a home that differs only by its cut-over date finds that parse there, and the
    home named, which does not exist, is not created."""
    from lifecycle.cli import main
    from lifecycle.io import dbt

    missing = tmp_path / "no-home-yet"
    assert main(["--home", str(missing), "prepare"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"dbt project (parsed|parse reused), \d{3} data tests ready, in [\d.]+ s: kept in ", out), out
    assert not missing.exists()
    cutover = parse_settings(tmp_path / "home", DEFAULT_TOML.replace('cutover_date = ""', 'cutover_date = "2026-11-13"'))
    default = parse_settings(tmp_path / "other", DEFAULT_TOML)
    assert dbt.cached_parse(cutover) == dbt.cached_parse(default) and dbt.cached_parse(cutover).exists()
    assert (dbt.cache_dir(default) / f"data_tests-{dbt.fingerprint(default, parsing=True)[:20]}.json").exists()
