# vp-monitor: `make demo` and `make test` bootstrap everything they need on a fresh
# Debian/Ubuntu machine with Python 3.11+ (virtualenv, Python packages, ffmpeg).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-deps test lint demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# ffprobe (Debian's ffmpeg) is the stock RTSP client the simulator's interoperability tests use.
system-deps:
	@command -v ffprobe >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq ffmpeg >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check vp_monitor tests tools
	$(BIN)/ruff format --check vp_monitor tests tools

test: $(STAMP) system-deps lint
	$(BIN)/pytest -q

demo: $(STAMP)
	$(BIN)/vp-monitor demo

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
