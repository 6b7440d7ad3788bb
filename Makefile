# acktrack: `make demo` runs a day on the embedded local stack, `make test` runs everything.
# Both set themselves up: a virtualenv in .venv with the pinned versions in constraints.txt.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PIP_FLAGS := --quiet --disable-pip-version-check

TOOLS := .venv-tools
SAM_CLI_VERSION := 1.170.0
TOOLS_STAMP = $(TOOLS)/.installed-sam-$(SAM_CLI_VERSION)
# checkov pins versions the dev tools cannot share, so it lives in its own venv too.
SCAN := .venv-scan
SCAN_STAMP = $(SCAN)/.installed-checkov-$(CHECKOV_VERSION)
CHECKOV_VERSION := 3.3.30

.PHONY: all demo test lint typecheck scan unit bench fuzz reliability validate sam-build clean help

all: test

help:
	@echo "make demo    run a realistic day on the embedded local stack and print the report"
	@echo "make test    lint, type-check and run the whole test suite (on every core; TEST_WORKERS=0: one process)"
	@echo "make bench   throughput and memory benchmarks (figures for the README)"
	@echo "make fuzz    a long fuzzing run (100,000+ inputs)"
	@echo "make reliability   order, redelivery, every-call fault injection and fuzzing, large budgets"
	@echo "make scan    the IaC security scan (checkov) alone; part of make test"
	@echo "make validate    sam validate --lint, then sam validate: offline, no AWS account needed"
	@echo "make sam-build   sam build (no Docker needed), then: sam deploy --guided"
	@echo "make clean   remove the virtualenv and build output"

# uv installs the pinned set in seconds where pip takes half a minute. uv reads no pip
# configuration: when it cannot be installed, or cannot install (no PyPI, only a mirror
# set up for pip, say), pip does the same work from the same constraints. uv compiles the
# bytecode as pip does: without it, every test process and every CLI a test starts compiles
# moto and botocore again wherever PYTHONDONTWRITEBYTECODE is set. checkov runs once: its
# bytecode would cost more to write than to make on the fly.
UV_VERSION := 0.13.9

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "acktrack needs Python 3.11 or newer (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install $(PIP_FLAGS) uv==$(UV_VERSION) 2>&1 | grep -v "is ignored" || true
	@test -x $(BIN)/uv && $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c constraints.txt -e '.[dev]' \
		|| $(BIN)/python -m pip install $(PIP_FLAGS) -c constraints.txt -e '.[dev]' 2>&1 | grep -v "is ignored" || true
	@$(BIN)/python -c 'import acktrack, moto, pyx12, hypothesis' || (echo "install failed" && exit 1)
	@touch $@

demo: $(STAMP)
	@$(BIN)/acktrack demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python tools/module_sizes.py 600

typecheck: $(STAMP)
	$(BIN)/mypy

# The tests run on every core (pytest-xdist); TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= auto

unit: $(STAMP)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

# The checks run side by side (on two jobs unless make was given -j; each one's output kept
# whole where make can), all of them even when one fails; then the tests.
CHECK_JOBS = $(if $(filter -j%,$(MAKEFLAGS)),,-j2) $(if $(filter output-sync,$(.FEATURES)),--output-sync=target)
test: $(STAMP)
	@$(MAKE) --no-print-directory -k $(CHECK_JOBS) lint typecheck scan
	@$(MAKE) --no-print-directory unit

$(SCAN_STAMP): | $(STAMP)
	@test -x $(SCAN)/bin/python || $(PYTHON) -m venv $(SCAN)
	@test -x $(BIN)/uv && $(BIN)/uv pip install --quiet --python $(SCAN)/bin/python checkov==$(CHECKOV_VERSION) \
		|| $(SCAN)/bin/python -m pip install $(PIP_FLAGS) checkov==$(CHECKOV_VERSION) 2>&1 | grep -v "is ignored" || true
	@$(SCAN)/bin/checkov --version | grep -qx '$(CHECKOV_VERSION)' || (echo "checkov $(CHECKOV_VERSION) install failed" && exit 1)
	@touch $@

# IaC security scan: zero unsuppressed failures; each suppression is justified in template.yaml.
scan: $(SCAN_STAMP)
	$(SCAN)/bin/checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download

# A long fuzzing run (100,000 inputs; every 20th through the handlers on moto).
fuzz: $(STAMP)
	$(BIN)/python -m tests.reliability.fuzz --inputs 100000 --through-handlers 20

# The reliability suite with larger budgets; it writes its figures into docs/RELIABILITY.md,
# naming the commit they were measured at. Run it again when shared/acktrack has changed a lot.
# First every property test that follows the hypothesis profile, with the `long` one (5,000
# examples each instead of 60; about 7 minutes on one core); then the suite, whose property
# tests take their sizes from the ACKTRACK_ budgets below.
reliability: $(STAMP)
	HYPOTHESIS_PROFILE=long $(BIN)/pytest -m hypothesis tests/unit tests/functional
	HYPOTHESIS_PROFILE=long ACKTRACK_PERMUTATIONS=50 ACKTRACK_FAULT_STRIDE=1 ACKTRACK_FUZZ_INPUTS=3000 \
		ACKTRACK_CONCURRENT_DAYS=20 ACKTRACK_FANOUT_FAULT_STEP=13 ACKTRACK_LARGE_999_SETS=4000 \
		ACKTRACK_RECON_FAULT_STEP=5 \
		ACKTRACK_WRITE_FIGURES=1 \
		$(BIN)/pytest tests/reliability tests/e2e/test_fanout.py \
		tests/e2e/test_reconciliation.py::test_a_fault_anywhere_in_a_reconciliation_day_ends_as_the_clean_run \
		tests/integration/test_hardening.py::test_a_999_too_large_for_one_item_is_stored_in_chunks_and_applied

# aws-sam-cli pins versions the dev tools cannot share, so it lives in its own venv.
$(TOOLS_STAMP):
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	@$(TOOLS)/bin/python -m pip install $(PIP_FLAGS) aws-sam-cli==$(SAM_CLI_VERSION) 2>&1 | grep -v "is ignored" || true
	@$(TOOLS)/bin/sam --version | grep -q ' $(SAM_CLI_VERSION)$$' || (echo "aws-sam-cli $(SAM_CLI_VERSION) install failed" && exit 1)
	@touch $@

# The template as SAM reads it, offline and with no AWS account: cfn-lint's rules (--lint),
# then SAM's own transform. Plain `sam validate` wants a region (any: it calls nothing) and
# would ask IAM, with credentials, for the ARN of a managed policy named in a function's
# Policies that SAM's bundled list lacks; the template names none
# (tests/unit/test_template.py). No EC2 metadata probe for credentials it does not need.
# Not part of make test (about 10 s).
validate: $(TOOLS_STAMP)
	SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam validate --lint --template template.yaml
	SAM_CLI_TELEMETRY=0 AWS_EC2_METADATA_DISABLED=true $(TOOLS)/bin/sam validate --region us-east-1 --template template.yaml

sam-build: $(TOOLS_STAMP)
	SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam build --build-dir .aws-sam/build

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(TOOLS) $(SCAN) .aws-sam build .mypy_cache .ruff_cache .pytest_cache
