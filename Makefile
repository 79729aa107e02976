# Two commands on a fresh machine with Python 3.11 and make:  make demo  |  make test
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOME_DIR ?= var
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: install demo test test-fast fuzz ui docs lint format contract bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

dbt_project/target/manifest.json: $(VENV)/.installed $(shell find dbt_project -name '*.sql' -o -name '*.yml' -o -name '*.py' | grep -v target/)
	cd dbt_project && ../$(BIN)/dbt parse --quiet --profiles-dir .
	$(BIN)/lifecycle prepare

install: $(VENV)/.installed dbt_project/target/manifest.json

## Generate a sample publisher in ./var, run its nights, publish the warehouse and print a summary.
demo: install
	$(BIN)/lifecycle --home $(HOME_DIR) demo

## Run the whole test suite: one worker per core (at most 4), a test module's tests on one worker, so the homes a
## module's fixtures build are built once; modules handed out in the order collected, the slowest first
## (tests/conftest.py SLOWEST_MODULES), not by their number of tests.
TEST_WORKERS ?= auto
test: install
	$(BIN)/pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist loadfile --no-loadscope-reorder

## The quick loop: every test but the ones that run whole nights end to end.
test-fast: install
	$(BIN)/pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist loadfile --no-loadscope-reorder -m "not nights"

## At length: the ingestion property tests with many more examples and fresh randomness, then the sample
## publisher at several seeds and sizes, every night published (SEEDS: seed:customers pairs).
fuzz: install
	LIFECYCLE_FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-2000} $(BIN)/pytest tests/test_ingest_properties.py
	LIFECYCLE_SEEDS=$${SEEDS:-7:300,23:300,11:2000,42:2000} $(BIN)/pytest tests/test_sample_seeds.py

## The Dagster UI on the demo home (http://127.0.0.1:3000).
ui: install
	LIFECYCLE_HOME=$(abspath $(HOME_DIR)) DAGSTER_HOME=$(abspath $(HOME_DIR))/dagster $(BIN)/dagster dev -m lifecycle.definitions

## The dbt documentation site (finance's data dictionary) for the published warehouse of the demo home, as one
## file that opens from disk (target/index.html needs a web server: dbt docs serve).
docs: install
	@test -f $(HOME_DIR)/warehouse.duckdb || { echo "no published warehouse in $(HOME_DIR): run make demo first"; exit 2; }
	cd dbt_project && LIFECYCLE_HOME=$(abspath $(HOME_DIR)) ../$(BIN)/dbt docs generate --static --profiles-dir . --target published
	@echo "open dbt_project/target/static_index.html in a browser (one file, no server);"
	@echo "or browse it served: cd dbt_project && LIFECYCLE_HOME=$(abspath $(HOME_DIR)) ../$(BIN)/dbt docs serve --profiles-dir . --target published"

lint: install
	$(BIN)/ruff check lifecycle tests bench

format: install
	$(BIN)/ruff format lifecycle tests bench

## Regenerate the dbt sources, staging models and docs/feeds.md from lifecycle/contract.py.
contract: install
	$(BIN)/lifecycle contract --write

bench: install
	$(BIN)/python bench/nightly.py --customers 100000

clean:
	rm -rf $(VENV) dbt_project/target dbt_project/logs
