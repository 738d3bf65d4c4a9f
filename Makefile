# Two commands do all the set-up on a fresh Debian or Ubuntu machine:
#   make run    start the app on http://localhost:8501
#   make test   run the test suite without the browser and load tests (about 5 minutes on two cores)
# Both create .venv, install requirements.txt and Graphviz. The other test targets also install Chromium:
#   make test-browser   the tests that drive the app in headless Chromium
#   make test-load      the 30-visitor load test
#   make test-all       everything (what CI runs)
#   make lint           ruff and mypy, as configured in pyproject.toml (also the pre-commit hooks)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8501
# Where `make run` listens: this machine only. A container that publishes the port sets ADDRESS=0.0.0.0.
ADDRESS ?= 127.0.0.1
SUDO   := $(shell [ "$$(id -u)" = 0 ] && echo "" || (command -v sudo >/dev/null 2>&1 && echo "sudo -n"))
CAN_APT := $(shell command -v apt-get >/dev/null 2>&1 && ([ "$$(id -u)" = 0 ] || sudo -n true 2>/dev/null) && echo yes)

.PHONY: run test test-browser test-load test-all lint setup graphviz chromium bench clean

run: setup
	$(PY) -m streamlit run app/ui/streamlit_app.py --server.address $(ADDRESS) --server.port $(PORT) \
		--server.headless true \
		--browser.gatherUsageStats false

# Each test target reports its slowest tests at the end.
PYTEST := $(PY) -m pytest -q --durations=15

test: setup
	$(PYTEST) -m "not browser and not load"
# Once `make lint` passes on the whole tree, uncomment the next line so that make test runs it too.
#	$(MAKE) lint

test-browser: setup chromium
	$(PYTEST) -m "browser and not load"

test-load: setup chromium
	$(PYTEST) -m load

test-all: setup chromium
	$(PYTEST)

# ruff checks app, patterns and tests; mypy checks app and patterns (the files listed in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check app patterns tests
	$(VENV)/bin/mypy

bench: setup
	$(PY) -m app bench --json

setup: $(STAMP) graphviz

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))."; exit 1; }
	@if ! $(PYTHON) -m venv --help >/dev/null 2>&1 || ! $(PYTHON) -c 'import ensurepip' 2>/dev/null; then \
		if [ "$(CAN_APT)" = yes ]; then \
			echo "Installing Python's venv module with apt-get (under a minute)..."; \
			$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; \
		else echo "Python's venv module is missing: install it (apt-get install python3-venv)."; exit 1; fi; \
	fi
	@[ -x $(PY) ] || { echo "Creating the virtualenv $(VENV) (a few seconds)..."; $(PYTHON) -m venv $(VENV); }
	@echo "Installing the Python packages of requirements.txt into $(VENV) (about 1-2 minutes the first time)..."
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	@touch $(STAMP)
	@echo "Python packages installed."

graphviz:
	@if ! command -v dot >/dev/null 2>&1; then \
		if [ "$(CAN_APT)" = yes ]; then \
			echo "Installing Graphviz with apt-get (under a minute)..."; \
			$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz; \
		else \
			echo "Graphviz is missing and cannot be installed automatically here."; \
			echo "Install it, then run make again:  apt-get install graphviz   (or: brew install graphviz)"; \
			exit 1; \
		fi; \
	fi

chromium: $(STAMP)
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then \
		if [ "$(CAN_APT)" = yes ]; then \
			echo "Installing Chromium for the browser tests with apt-get (an 80 MB download: 1-2 minutes)..."; \
			$(SUDO) apt-get update -qq && \
			($(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium || \
			 $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-browser || true); \
		fi; \
		if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then \
			echo "Chromium is missing: install it (apt-get install chromium) and run make $(or $(MAKECMDGOALS),chromium) again."; exit 1; \
		fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
