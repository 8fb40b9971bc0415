# bpfscope: set-up, checks and helpers. `make setup` is idempotent and quick once done;
# `make test` and `make run` run it first.

SHELL := /bin/bash
.DEFAULT_GOAL := test

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP_STAMP := $(VENV)/.pip-installed
BCC_SYSTEM := /usr/lib/python3/dist-packages/bcc
BCC_SHIM := $(CURDIR)/$(VENV)/bcc-shim
NODE_PREFIX := build/node
SPEEDSCOPE_VERSION := 1.25.0
SPEEDSCOPE_PKG := $(NODE_PREFIX)/node_modules/speedscope/package.json
# pytest-xdist workers for the tests that do not use the machine itself (0: one process). The
# `machine` tests (eBPF, perf, py-spy, tmux, signals: marked in tests/conftest.py) run after
# them, alone and serially: run beside a second worker, two live comparisons (shares against
# the program's own clock, the perf fallback's target check) failed in CI.
PYTEST_JOBS ?= 2
PYTEST := $(PY) -m pytest -q -p no:cacheprovider
ARGS ?=

.PHONY: setup setup-venv setup-system setup-bcc setup-speedscope test run bench screenshots fuzz clean

setup: setup-venv setup-system setup-bcc setup-speedscope

# --- 1. the virtual environment, re-running pip only when pyproject.toml changed --------------
setup-venv: $(PIP_STAMP)

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "bpfscope needs Python >= 3.11; $(PYTHON) is $$($(PYTHON) -V 2>&1)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(PIP_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

# --- 2. system packages (root on Debian/Ubuntu; otherwise it prints what to install) ----------
setup-system:
	@bash scripts/setup-system.sh

# --- 3. bcc's Python bindings from Debian, without the rest of dist-packages ------------------
# Never the PyPI package called `bcc`: it is not the BPF Compiler Collection.
setup-bcc: setup-venv setup-system
	@if [ -d $(BCC_SYSTEM) ]; then \
		mkdir -p $(BCC_SHIM) && ln -sfn $(BCC_SYSTEM) $(BCC_SHIM)/bcc && \
		site=$$($(PY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))') && \
		echo $(BCC_SHIM) > "$$site/bcc-shim.pth" && \
		$(PY) -c 'import bcc; bcc.BPF' \
			|| { echo "setup: bcc is linked into $(VENV) but does not import" >&2; exit 1; }; \
	else \
		echo "setup: bcc's Python bindings are missing (install python3-bpfcc); live sampling will not work"; \
	fi

# --- 4. the real speedscope app, for the browser test -----------------------------------------
setup-speedscope:
	@if grep -qs '"version": "$(SPEEDSCOPE_VERSION)"' $(SPEEDSCOPE_PKG); then :; \
	elif command -v npm >/dev/null; then \
		npm install --prefix $(NODE_PREFIX) speedscope@$(SPEEDSCOPE_VERSION) --no-audit --no-fund --loglevel=error; \
	else \
		echo "setup: npm is missing, so speedscope is not installed; the browser test will fail"; \
	fi

# --- checks: all of them run, and the target fails if any failed -------------------------------
test: setup
	@failed=""; \
	run() { echo "+ $$*"; "$$@" || failed="$$failed\n  $$*"; }; \
	run $(VENV)/bin/ruff check tui collectors tests; \
	run $(VENV)/bin/mypy --strict tui collectors; \
	run $(VENV)/bin/lint-imports; \
	run $(PYTEST) -n $(PYTEST_JOBS) --dist loadgroup -m "not machine" --durations=15 tests; \
	run $(PYTEST) -m machine --durations=25 tests; \
	if [ -n "$$failed" ]; then echo -e "FAILED:$$failed" >&2; exit 1; fi

run: setup
	$(VENV)/bin/bpfscope $(ARGS)

bench: setup
	@$(PY) bench/run.py $(ARGS)

screenshots: setup
	$(PY) scripts/screenshots.py $(ARGS)

# The long fuzzing run: the tests `make test` runs in a bounded slice, with many more (randomized)
# hypothesis examples, every fixture under every mutation with FUZZ_SEEDS seeds, and every CLI case.
# It prints the inputs tried and the time per input; about ten minutes by default, FUZZ_EXAMPLES=50000 FUZZ_SEEDS=200 for longer.
FUZZ_EXAMPLES ?= 10000
FUZZ_SEEDS ?= 40
fuzz: setup
	BPFSCOPE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) BPFSCOPE_FUZZ_SEEDS=$(FUZZ_SEEDS) $(PYTEST) -s tests -m fuzz $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
