# One way to run each task. Every target creates the virtual environment on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT    := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq

.PHONY: serve test lint fuzz bench screenshots clean redis

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

serve: $(STAMP) ## start the mock on its embedded defaults (127.0.0.1:8779)
	$(BIN)/mockserver

test: $(STAMP) redis ## lint, type-check and run every test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile

# Debian's redis-server for the tests that need a real Redis: each starts its own on a free port
# with a data directory of its own (tests/redis_support.py), never the packaged service's 6379.
redis: ## installs Debian's redis-server with apt-get when it is missing (part of test)
	@command -v redis-server >/dev/null || \
		($(APT) update && $(APT) install -y redis-server >/dev/null)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fuzz: $(STAMP) ## schemathesis on the mock, API and control API: every phase and check, 1,000 examples an operation (long; not part of test)
	$(BIN)/python fuzz/run.py $(FUZZ_ARGS)

bench: $(STAMP) ## throughput, latency, start-up and memory beside Prism 5, the proxy's cost, and the cost of a state shared through Redis (--store, --workers 2); installs wrk, Prism and redis-server (about 19 min; not a test)
	$(BIN)/python -m bench $(BENCH_ARGS)

screenshots: $(STAMP) ## the README's pictures, docs/screenshots/*.png: the mock's coverage page after a consumer-like mix, a contract-tests report (headless Chromium; apt-get installs it when missing)
	$(BIN)/python tools/screenshots.py $(SCREENSHOTS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
