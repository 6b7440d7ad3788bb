# acktrack: `make demo` runs a day on the embedded local stack, `make test` runs everything.
# Both set themselves up: a virtualenv in .venv with the pinned versions in constraints.txt.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PIP_FLAGS := --quiet --disable-pip-version-check

TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed-stamp

.PHONY: all demo test lint typecheck unit bench fuzz sam-build clean help

all: test

help:
	@echo "make demo    run a realistic day on the embedded local stack and print the report"
	@echo "make test    lint, type-check and run the whole test suite"
	@echo "make bench   throughput and memory benchmarks (figures for the README)"
	@echo "make fuzz    a long fuzzing run (100,000+ inputs)"
	@echo "make sam-build   sam build (no Docker needed), then: sam deploy --guided"
	@echo "make clean   remove the virtualenv and build output"

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "acktrack needs Python 3.11 or newer (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip 2>&1 | grep -v "is ignored" || true
	@$(BIN)/python -m pip install $(PIP_FLAGS) -c constraints.txt -e '.[dev]' 2>&1 | grep -v "is ignored" || true
	@$(BIN)/python -c 'import acktrack, moto, pyx12, hypothesis' || (echo "install failed" && exit 1)
	@touch $@

demo: $(STAMP)
	@$(BIN)/acktrack demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

# aws-sam-cli pins versions the dev tools cannot share, so it lives in its own venv.
$(TOOLS_STAMP):
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	@$(TOOLS)/bin/python -m pip install $(PIP_FLAGS) aws-sam-cli 2>&1 | grep -v "is ignored" || true
	@touch $@

sam-build: $(TOOLS_STAMP)
	SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam build --build-dir .aws-sam/build

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam build .mypy_cache .ruff_cache .pytest_cache
