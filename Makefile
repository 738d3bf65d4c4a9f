# Two commands do all the set-up on a fresh Debian or Ubuntu machine:
#   make run    start the app on http://localhost:8501
#   make test   run the whole test suite
# Both create .venv, install requirements.txt and Graphviz; `make test` also installs Chromium.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8501
# Where `make run` listens: this machine only. A container that publishes the port sets ADDRESS=0.0.0.0.
ADDRESS ?= 127.0.0.1
SUDO   := $(shell [ "$$(id -u)" = 0 ] && echo "" || (command -v sudo >/dev/null 2>&1 && echo "sudo -n"))
CAN_APT := $(shell command -v apt-get >/dev/null 2>&1 && ([ "$$(id -u)" = 0 ] || sudo -n true 2>/dev/null) && echo yes)

.PHONY: run test setup graphviz chromium bench clean

run: setup
	$(PY) -m streamlit run app/ui/streamlit_app.py --server.address $(ADDRESS) --server.port $(PORT) \
		--server.headless true \
		--browser.gatherUsageStats false

test: setup chromium
	$(PY) -m pytest -q

bench: setup
	$(PY) -m app bench --json

setup: $(STAMP) graphviz

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))."; exit 1; }
	@if ! $(PYTHON) -m venv --help >/dev/null 2>&1 || ! $(PYTHON) -c 'import ensurepip' 2>/dev/null; then \
		if [ "$(CAN_APT)" = yes ]; then \
			$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; \
		else echo "Python's venv module is missing: install it (apt-get install python3-venv)."; exit 1; fi; \
	fi
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	@touch $(STAMP)

graphviz:
	@if ! command -v dot >/dev/null 2>&1; then \
		if [ "$(CAN_APT)" = yes ]; then \
			echo "Installing Graphviz..."; \
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
			echo "Installing Chromium for the browser tests..."; \
			$(SUDO) apt-get update -qq && \
			($(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium || \
			 $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-browser || true); \
		fi; \
		if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then \
			echo "Chromium is missing: install it (apt-get install chromium) and run make test again."; exit 1; \
		fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache
