# vp-monitor: `make demo` and `make test` bootstrap everything they need on a fresh
# Debian/Ubuntu machine with Python 3.11+ (virtualenv, Python packages, ffmpeg).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-deps bench-deps test lint demo bench bench-fleet bench-web clean lock deps-upgrade \
	screenshots

LOCK := requirements.lock
# Same resolution on every machine: `make lock` after changing pyproject.toml's dependencies.
LOCK_COMMAND = $(BIN)/uv pip compile pyproject.toml --extra test --generate-hashes \
	--universal --python-version 3.11 -q -o $(LOCK)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m pip check  # fails when pyproject.toml names a package the lock lacks
	touch $(STAMP)

# Front-end code the web service serves itself (Swagger UI, Leaflet): npm, from package-lock.json.
NPM_STAMP := node_modules/.installed-stamp
$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm >/dev/null; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $(NPM_STAMP)

install: $(STAMP) $(NPM_STAMP)

# ffprobe (Debian's ffmpeg) is the stock RTSP client the simulator's interoperability tests use;
# Debian's chromium is the browser the dashboard's tests drive through Playwright (the build
# `playwright install` downloads is not reachable from every machine).
system-deps:
	@command -v ffprobe >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq ffmpeg >/dev/null; }
	@test -x /usr/bin/chromium || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# wrk: the web benchmark's load; matplotlib and scikit-image (pyproject's `bench` extra, pinned
# in requirements-bench.lock): the fleet's cost curve, the vision evaluation's real two-view pair.
# Tests need none of them.
BENCH_LOCK := requirements-bench.lock
BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP) $(BENCH_LOCK)
	$(BIN)/python -m pip install -q --require-hashes -r $(BENCH_LOCK)
	touch $(BENCH_STAMP)

bench-deps: $(BENCH_STAMP)
	@command -v wrk >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check vp_monitor tests tools
	$(BIN)/ruff format --check vp_monitor tests tools
	$(BIN)/lint-imports --no-cache  # import contracts: pyproject.toml [tool.importlinter]

# Three workers, a test file each at a time (its module fixtures start once): most tests wait
# on sockets, simulated cameras and the browser, so 2 cores run three at once in a third of
# the time of one. The longest files start first (tests/conftest.py), so the workers end
# together.
test: $(STAMP) $(NPM_STAMP) system-deps lint
	$(BIN)/pytest -q -n 3 --dist loadfile --no-loadscope-reorder

# The dashboard's pages as the browser tests see them (chromium, the two towns' data).
SHOTS ?= var/screenshots
screenshots: $(STAMP) system-deps
	VP_SHOTS=$(SHOTS) $(BIN)/pytest -q -p no:cacheprovider tests/web/test_pages.py \
		tests/web/test_forms_pages.py tests/web/test_map_page.py tests/web/test_accounts_page.py
	$(BIN)/python tools/readme_screenshots.py $(SHOTS) docs/screenshots
	@echo "screenshots in $(SHOTS)/, the README's in docs/screenshots/"

$(BIN)/uv: $(STAMP)
	$(BIN)/python -m pip install -q uv

lock: $(BIN)/uv
	$(LOCK_COMMAND)
	$(BIN)/uv pip compile pyproject.toml --extra bench --generate-hashes --universal \
		--python-version 3.11 -q -c $(LOCK) -o $(BENCH_LOCK)

# Newest releases within pyproject.toml's bounds, then the whole suite against them.
deps-upgrade: $(BIN)/uv
	$(LOCK_COMMAND) --upgrade
	$(MAKE) test

demo: $(STAMP) $(NPM_STAMP)
	$(BIN)/vp-monitor demo

# The fleet benchmark's short run: 1,000 simulated cameras, 3 minutes measured after 1 minute
# of start-up (docs/benchmarks.md, "Fleet").
bench-fleet: $(STAMP)
	$(BIN)/python tools/bench_fleet.py --cameras 1000 --seconds 180 --warmup 60

bench-web: $(STAMP) system-deps bench-deps
	cd tools && ../$(BIN)/python bench_web.py --warmup 120

clean:
	rm -rf $(VENV) var node_modules .pytest_cache .ruff_cache *.egg-info
