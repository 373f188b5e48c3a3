# ivkgen: one-command setup, generation and tests. Every target creates .venv when missing.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OPENAPI := data/openapi/invokeai-6.14.2.json
OUT ?= generated
DEMO_OUT ?= out/demo
PYTEST_FLAGS ?=
BENCH_FLAGS ?=

.PHONY: setup gen gen-fields regen openapi test test-fast lint format typecheck server bench demo clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -e '.[dev]' > $(VENV)/pip.log 2>&1 || { tail -30 $(VENV)/pip.log; exit 1; }
	touch $(STAMP)

gen: $(STAMP)
	@test -n "$(WORKFLOW)" || { echo "usage: make gen WORKFLOW=path/to/workflow.json [OUT=dir]"; exit 2; }
	$(VENV)/bin/ivkgen gen "$(WORKFLOW)" -o "$(OUT)" --openapi $(OPENAPI)

gen-fields: $(STAMP)
	$(VENV)/bin/ivkgen fields --openapi $(OPENAPI) -o generated

regen: $(STAMP)
	$(VENV)/bin/ivkgen regen --openapi $(OPENAPI)

openapi: $(STAMP)
	$(PY) -m tests.harness openapi $(OPENAPI)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_FLAGS)

test-fast: $(STAMP)
	$(PY) -m pytest -m "not live" $(PYTEST_FLAGS)

lint: $(STAMP)
	$(PY) -m ruff check runtime generator generated tests examples
	$(PY) -m black --check runtime generator generated tests examples

format: $(STAMP)
	$(PY) -m ruff check --fix runtime generator generated tests examples
	$(PY) -m black runtime generator generated tests examples

typecheck: $(STAMP)
	$(PY) -m mypy runtime generator generated examples

server: $(STAMP)
	$(PY) -m tests.harness serve

demo: $(STAMP)
	$(PY) -m tests.harness.demo --out "$(DEMO_OUT)"

bench: $(STAMP)
	$(PY) -m bench $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
