# The two commands that matter (README): `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= sqlite:///maintcal.db
export MAINTCAL_DATABASE_URL ?= $(DB)

.PHONY: run test venv lint typecheck pytest bench clean

$(BIN)/maintcal: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/maintcal

## Set up, create the SQLite database, load the example catalogue and show the next windows.
run: venv
	$(BIN)/maintcal db upgrade
	$(BIN)/maintcal apply examples/catalogue.toml
	$(BIN)/maintcal occurrences --from $$(date -u +%F) --to $$(date -u -d '+14 days' +%F)

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
