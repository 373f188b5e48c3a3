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

.PHONY: setup gen regen openapi test test-fast lint format typecheck server bench demo clean

setup: $(STAMP)

# build/dev/ivkgen/* link the checkout's folders under their import names (see pyproject.toml).
DEV_LINKS := build/dev/ivkgen

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	mkdir -p $(DEV_LINKS)
	ln -sfn $(CURDIR)/runtime $(DEV_LINKS)/runtime
	ln -sfn $(CURDIR)/generator $(DEV_LINKS)/generator
	ln -sfn $(CURDIR)/cli $(DEV_LINKS)/cli
	ln -sfn $(CURDIR)/service $(DEV_LINKS)/service
	ln -sfn $(CURDIR)/templates $(DEV_LINKS)/templates
	ln -sfn $(CURDIR)/generated/fields_6_14_2 $(DEV_LINKS)/bundled
	$(PY) -m pip install -e '.[dev]' > $(VENV)/pip.log 2>&1 || { tail -30 $(VENV)/pip.log; exit 1; }
	$(VENV)/bin/pyright --version >> $(VENV)/pip.log 2>&1  # fetches pyright's npm package once
	touch $(STAMP)

gen: $(STAMP)
	@test -n "$(WORKFLOW)" || { echo "usage: make gen WORKFLOW=path/to/workflow.json [OUT=dir]"; exit 2; }
	$(VENV)/bin/ivkgen gen "$(WORKFLOW)" -o "$(OUT)" --openapi $(OPENAPI)

regen: $(STAMP)
	$(VENV)/bin/ivkgen regen generated --openapi $(OPENAPI)
	$(PY) -m tests.golden

openapi: $(STAMP)
	$(PY) -m tests.harness openapi $(OPENAPI)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_FLAGS)

test-fast: $(STAMP)
	$(PY) -m pytest -m "not live" $(PYTEST_FLAGS)

CODE := runtime generator cli service generated tests examples bench

lint: $(STAMP)
	$(PY) -m ruff check $(CODE)
	$(PY) -m black --check $(CODE)

format: $(STAMP)
	$(PY) -m ruff check --fix $(CODE)
	$(PY) -m black $(CODE)

typecheck: $(STAMP)
	$(PY) -m mypy -p ivkgen.runtime -p ivkgen.generator -p ivkgen.cli -p ivkgen.service
	$(PY) -m mypy generated examples

server: $(STAMP)
	$(PY) -m tests.harness serve

demo: $(STAMP)
	$(PY) -m tests.harness.demo --out "$(DEMO_OUT)"

bench: $(STAMP)
	$(PY) -m bench $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
