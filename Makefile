# Two commands: `make run` and `make test`. Each sets up what it needs on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench lock clean system-deps

$(STAMP): requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# The demo has no SMS gateway: its texts (verification codes) are written to this file,
# which the demo names when it starts.
SMS_FILE ?= var/sms.log

run: $(STAMP)
	RENSHI_SMS_FILE=$(SMS_FILE) $(BIN)/python -m api.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Browser tests drive Debian's Chromium; pages are checked with CJK fonts installed.
system-deps:
	@if ! command -v chromium >/dev/null || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then \
		echo "Installing chromium and fonts-noto-cjk (Debian packages)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium fonts-noto-cjk >/dev/null; \
	fi

test: lint system-deps
	$(BIN)/python -m pytest -q -n auto --dist worksteal

# The HTTP benchmark loads the server with wrk (Debian package).
bench: $(STAMP)
	@command -v wrk >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m benchmarks $(if $(QUICK),--quick,)

# Regenerate the hash-pinned locks after changing pyproject.toml (needs uv).
lock:
	uv pip compile -q --generate-hashes pyproject.toml build-requirements.in -o requirements.lock
	uv pip compile -q --generate-hashes --extra dev pyproject.toml build-requirements.in -o requirements-dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
