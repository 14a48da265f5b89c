# The two commands of the README: `make run` (the whole product on SQLite) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
ADDR ?= 127.0.0.1:8000
EMULATOR_ADDR ?= 127.0.0.1:8025
# `make run` fills an empty install with demo data (`manage.py demo_data`); DEMO=0 skips it.
DEMO ?= 1

.PHONY: run test lint format bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# A local .env: the example's safe values, debug on, a fresh random SECRET_KEY and webhook secret,
# and every provider pointed at the provider emulator with fresh random credentials.
.env: | $(BIN)/python
	$(BIN)/python -c "import re, secrets; text = open('.env.example').read(); \
	text = re.sub(r'(?m)^SECRET_KEY=.*$$', 'SECRET_KEY=' + secrets.token_urlsafe(50), text); \
	text = re.sub(r'(?m)^DEBUG=.*$$', 'DEBUG=True', text); \
	text = re.sub(r'(?m)^SMS_WEBHOOK_SECRETS=.*$$', 'SMS_WEBHOOK_SECRETS=' + secrets.token_urlsafe(32), text); \
	open('.env', 'w').write(text)"
	$(BIN)/python -m emulator.localenv --addr $(EMULATOR_ADDR) .env
	@echo "Wrote .env for local use: the providers are the emulator on $(EMULATOR_ADDR)."

run: $(VENV)/.installed .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_admin
ifneq ($(DEMO),0)
	$(BIN)/python manage.py demo_data
endif
	$(BIN)/python manage.py devserver $(ADDR) --emulator --emulator-addr $(EMULATOR_ADDR)

test: $(VENV)/.installed
	$(BIN)/pytest $(ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every benchmark, one table. BENCH_DATABASE_URL=postgres://... adds PostgreSQL; ARGS="--smoke"
# for tiny sizes, ARGS="--only dispatch,limits" for some of them.
bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks $(ARGS)
