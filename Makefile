# CivicDesk — the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
## make run loads a demo month the first time, in development only (docs/demo.md);
## `make run NO_DEMO=1` (or DEMO_APPEALS=0) skips it.
DEMO_APPEALS ?= 3000
DEMO_DAYS ?= 22
NO_DEMO ?=

.PHONY: run test bench lint typecheck install browser init worker demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## The browser tests (SLA board, operator console) drive Debian's headless Chromium, and the
## weekly report's test reads its PDF back with poppler (pdftotext, pdftoppm). Under CI=true
## they are installed (or the run fails); elsewhere (no root, macOS) their tests skip, saying why.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null && command -v pdftoppm >/dev/null; then :; \
	elif [ "$${CI:-}" = "true" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver poppler-utils; \
	else echo "note: chromium, chromedriver or poppler-utils missing: their tests will be skipped (CI=true installs them)"; fi

## make run: environment, migrations, reference data, then serve http://$(HOST):$(PORT)
run: install
	$(BIN)/civicdesk init
	$(if $(NO_DEMO),,$(if $(filter-out 0,$(DEMO_APPEALS)),$(BIN)/civicdesk demo --appeals $(DEMO_APPEALS) --days $(DEMO_DAYS) --once))
	$(BIN)/civicdesk serve --host $(HOST) --port $(PORT)

## make test: everything the suite needs, the static checks, then the suite
## (PostgreSQL and Redis on 127.0.0.1; under CI=true their absence fails the run)
test: install browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/routing.py
	$(BIN)/python bench/repeats.py
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/nlp.py
	$(BIN)/python bench/nlp_pipeline.py
	$(BIN)/python bench/nlp_language.py --json
	$(BIN)/python bench/nlp_triage.py
	$(BIN)/python bench/sla_sweep.py
	$(BIN)/python bench/sla_board.py --reuse
	$(BIN)/python bench/ranking.py --reuse
	$(BIN)/python bench/analytics.py --reuse
	$(BIN)/python bench/bursts_eval.py
	$(BIN)/python bench/kb.py
	$(BIN)/python bench/bots.py
	$(BIN)/python bench/social.py --json
	$(BIN)/python bench/bot_media.py
	$(BIN)/python bench/notifications.py
	$(BIN)/python bench/ami.py
	$(BIN)/python bench/console.py
	$(BIN)/python bench/demo_month.py
	$(BIN)/python bench/pii.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

worker: install
	$(BIN)/civicdesk worker

demo: install
	$(BIN)/civicdesk init
	$(BIN)/civicdesk demo --appeals $(DEMO_APPEALS) --days $(DEMO_DAYS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
