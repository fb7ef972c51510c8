# Two commands do everything on a fresh Debian 12 machine (as root, or a user with sudo):
#   make demo   - install what is missing, then run the demo on simulated hardware
#   make test   - install what is missing, then run ruff, mypy and the tests
# Re-running is fast: each install step leaves a stamp and reruns only when its inputs change.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
INTEROP_VENV := .venv-interop
PY := $(VENV)/bin/python
STAMPS := .stamps
APT_PACKAGES := pcscd libpcsclite-dev swig vsmartcard-vpcd softhsm2 libusb-1.0-0 \
	python3-venv python3-dev gcc make \
	cups-ipp-utils dbus-daemon fonts-noto-core fonts-noto-cjk libfribidi0 chromium \
	postgresql wrk nginx
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint typecheck pytest bench deps clean check-minimums

# The demo: the issuer and chip walk-through, one scripted enrolment at the kiosk, then the
# kiosk UI on simulated hardware (until Ctrl-C; DEMO_SECONDS when not run from a terminal).
DEMO_SECONDS ?= 30
demo: deps
	rm -rf demo-out
	$(PY) -m api.issuer.demo --out demo-out/foundation
	$(VENV)/bin/citycard-kiosk demo --program zurich --data demo-out/kiosk-data --out demo-out/kiosk
	@if [ -t 0 ]; then \
		$(VENV)/bin/citycard-kiosk serve --simulate --program zurich --data demo-out/kiosk-ui; \
	else \
		timeout -s INT $(DEMO_SECONDS) $(VENV)/bin/citycard-kiosk serve --simulate --program zurich \
			--data demo-out/kiosk-ui || true; \
	fi

test: deps lint typecheck pytest

lint: deps
	$(VENV)/bin/ruff check .

typecheck: deps
	$(VENV)/bin/mypy

# PostgreSQL on loopback (installed and started when missing) so the registry is tested on
# both SQLite and PostgreSQL. One pytest worker per core (pytest-xdist); the tests that present
# cards in the vpcd slots share one of them (tests/xdist_groups.py). PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= auto
pytest: deps
	@url="$$(bash scripts/ensure_postgres.sh)" && \
		CITYCARD_TEST_PG_URL="$$url" $(PY) -m pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

bench: deps
	$(PY) bench/verify.py
	$(PY) bench/chip.py
	$(PY) bench/print.py
	$(PY) bench/api.py
	$(PY) bench/dfu.py
	$(PY) bench/kiosk.py
	$(PY) bench/allocate.py
	$(PY) bench/revocation.py
	$(PY) bench/presentation.py

deps: $(STAMPS)/apt $(STAMPS)/venv $(STAMPS)/node $(STAMPS)/interop

# The lowest versions pyproject.toml allows, installed in a throwaway venv, against the cardio
# tests (needs PyPI; not part of make test).
check-minimums: deps
	$(PY) scripts/check_minimums.py

# apt-get runs only when a package is missing (dpkg -s is quick and needs no network).
$(STAMPS)/apt: Makefile
	@mkdir -p $(STAMPS)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@touch $@

$(STAMPS)/venv: pyproject.toml setup.py cardio/_fastpath.c $(STAMPS)/apt
	@mkdir -p $(STAMPS)
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

# Interop tests run implementations we did not write under Node (tests/node/package.json:
# @auth0/mdl, the OpenID4VCI client), at the versions package-lock.json locks. `npm install`,
# not `npm ci`: npm 11's ci refuses a lock that leaves out other platforms' optional
# cbor-extract binaries, which npm itself writes that way.
$(STAMPS)/node: tests/node/package.json tests/node/package-lock.json $(STAMPS)/apt
	@mkdir -p $(STAMPS)
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nodejs npm; }
	npm install --prefix tests/node --no-audit --no-fund --loglevel=error
	@touch $@

# python-cwt, for the CWT interop tests (tests/test_cwt_interop.py), in a venv of its own: it
# pins cbor2 below the 6.x that citycard needs. tests/interop/requirements.txt pins it.
$(STAMPS)/interop: tests/interop/requirements.txt $(STAMPS)/apt
	@mkdir -p $(STAMPS)
	@[ -x $(INTEROP_VENV)/bin/python ] || $(PYTHON) -m venv $(INTEROP_VENV)
	$(INTEROP_VENV)/bin/python -m pip install -q -r tests/interop/requirements.txt
	@touch $@

clean:
	rm -rf $(STAMPS) $(VENV) $(INTEROP_VENV) build *.egg-info cardio/*.so .mypy_cache .ruff_cache .pytest_cache demo-out \
		tests/node/node_modules
