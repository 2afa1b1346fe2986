# The two commands that matter (README): `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= sqlite:///maintcal.db

.PHONY: run test venv lint typecheck pytest bench clean

$(BIN)/maintcal: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/maintcal

## Set up, create the SQLite database, load the example catalogue, show the next windows, then
## serve the feeds on http://127.0.0.1:8000 with the notice worker (pickup directory var/outbox).
run: export MAINTCAL_DATABASE_URL ?= $(DB)
run: venv
	$(BIN)/maintcal db upgrade
	$(BIN)/maintcal apply examples/catalogue.toml
	$(BIN)/maintcal occurrences --from $$(date -u +%F) --to $$(date -u -d '+14 days' +%F)
	@echo "public product feed: http://127.0.0.1:8000/products/premier-edition.ics"
	@$(BIN)/maintcal customer feed-url thames-telecom 2>/dev/null \
	  || echo "thames-telecom's feed URL was issued by an earlier run (shown once); new one: $(BIN)/maintcal customer feed-url thames-telecom --rotate"
	$(BIN)/maintcal worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/maintcal serve --host 127.0.0.1 --port 8000

## Set up and run everything CI runs: ruff, mypy --strict, pytest on SQLite and PostgreSQL.
test: venv lint typecheck pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy --strict .

pytest: venv
	$(BIN)/pytest -q

bench: venv
	for script in benchmarks/*.py; do $(BIN)/python $$script; done

clean:
	rm -rf $(VENV) maintcal.db var .mypy_cache .pytest_cache .ruff_cache
