# q2ext template repository: `make` lists the commands. The first one sets up a virtualenv (Python 3.10+, pip).

PYTHON ?= python3
# Outside the checkout on purpose: cookiecutter copies the whole template folder (for its pre_prompt hook) on
# every bake, and a 200 MB .venv inside it made each bake from this folder 10x slower.
VENV ?= $(HOME)/.cache/q2ext/venv
PY := $(VENV)/bin/python
READY := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help test lint format demo bench clean

help:  ## list the commands
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-7s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(READY): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "error: q2ext needs Python 3.10 or newer; run make PYTHON=python3.12 (for example)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

test: $(READY)  ## run every test: template, runtime, wire format, security, Kafka (PYTEST_ARGS=... to narrow)
	@status=0; $(PY) -m pytest $(PYTEST_ARGS) || status=$$?; \
		if [ $$status -eq 5 ]; then echo "error: pytest collected no tests" >&2; fi; exit $$status

lint: $(READY)  ## ruff check and ruff format --check over the repository
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: $(READY)  ## ruff format and ruff check --fix
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

demo: $(READY)  ## the seed's Message Bus tutorial end to end: bake, add SendToBus, serve, request, HELLO WORLD
	$(PY) scripts/demo.py

bench: $(READY)  ## the benchmarks (bench/run.py)
	$(PY) bench/run.py

clean:  ## remove caches (keeps .venv)
	rm -rf .pytest_cache .ruff_cache .hypothesis build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
