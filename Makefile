# mlflow-decay developer commands. Everything runs in .venv, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUNTIME := $(VENV)/.runtime

.PHONY: install demo status test lint typecheck pytest quick bench screenshots clean

# the package and what it needs to run (the demo, your own models)
$(RUNTIME): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

# plus the test tools (pytest, ruff, mypy, pyspark, hypothesis)
$(STAMP): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## Train, register, profile and watch a model decay in a local sqlite MLflow store (./mlflow.db).
demo: $(RUNTIME)
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/mlflow-decay demo
	$(BIN)/mlflow-decay status demo-churn

## Every version of the demo's model (or MODEL=<name>) with its decay stage.
status: $(RUNTIME)
	$(BIN)/mlflow-decay status $(or $(MODEL),demo-churn)

## ruff, mypy and the test suite.
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check mlflow_decay tests examples bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/python -m pytest

## The layers' own tests, without MLflow servers, Spark or the end-to-end integration tests.
quick: $(STAMP)
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/python -m pytest -q tests/stats tests/core tests/engines \
		tests/registry tests/test_layers.py -m "not server and not spark and not slow"

## Speed against Evidently and NannyML on the same data, in one process (installs NannyML once).
bench: $(STAMP)
	$(BIN)/python -c "import nannyml" 2>/dev/null || $(BIN)/python -m pip install --quiet nannyml
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/python bench/speed.py
	MLFLOW_DISABLE_TELEMETRY=true NML_DISABLE_USAGE_LOGGING=1 $(BIN)/python bench/estimation.py

## The README's screenshots (MLflow's experiment page and a report; needs chromium).
screenshots: $(RUNTIME)
	$(BIN)/python -c "import websockets" 2>/dev/null || $(BIN)/python -m pip install --quiet websockets
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/python scripts/screenshots.py --out docs/screenshots

clean:
	rm -rf $(VENV) mlflow.db mlruns mlartifacts .mypy_cache .ruff_cache .pytest_cache
