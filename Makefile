# The two commands that matter (README): `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= sqlite:///maintcal.db
PORT   ?= 8000
HOST   ?= 127.0.0.1
# The address to print and to put in feed URLs: a wildcard HOST is reached through localhost.
URL_HOST := $(if $(filter 0.0.0.0 ::,$(HOST)),127.0.0.1,$(HOST))

.PHONY: run test venv lint typecheck pytest bench clean

$(BIN)/maintcal: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/maintcal

## Set up, create the SQLite database, load the example catalogue, show the next windows, then
## serve the feeds on http://$(HOST):$(PORT) (default 127.0.0.1:8000) with the notice worker
## (pickup directory var/outbox). The port is checked first: nothing starts if it is taken.
run: export MAINTCAL_DATABASE_URL ?= $(DB)
run: export MAINTCAL_BASE_URL ?= http://$(URL_HOST):$(PORT)
run: venv
	@$(BIN)/python -c "$$CHECK_PORT" '$(HOST)' '$(PORT)'
	$(BIN)/maintcal db upgrade
	$(BIN)/maintcal apply examples/catalogue.toml
	$(BIN)/maintcal occurrences --from $$(date -u +%F) --to $$(date -u -d '+14 days' +%F)
	@echo "public product feed: $$MAINTCAL_BASE_URL/products/premier-edition.ics"
	@$(BIN)/maintcal customer feed-url thames-telecom 2>/dev/null \
	  || echo "thames-telecom's feed URL was issued by an earlier run (shown once); new one: $(BIN)/maintcal customer feed-url thames-telecom --rotate"
	@echo "portal sign-in for noc@thames.example.com (one use, 15 minutes): $$($(BIN)/maintcal customer portal-link thames-telecom --contact noc@thames.example.com)"
	$(BIN)/maintcal worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/maintcal serve --host '$(HOST)' --port '$(PORT)'

# Can `maintcal serve` listen on HOST:PORT? One line on stderr and exit 1 if not (as uvicorn binds:
# SO_REUSEADDR, so only a listening socket makes the port "in use").
define CHECK_PORT
import errno, socket, sys
host, port = sys.argv[1], sys.argv[2]
if not port.isdigit() or not 0 < int(port) < 65536:
    sys.exit(f"error: PORT={port!r} is not a port number (1-65535)")
try:
    family = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)[0][0]
    socket.create_server((host, int(port)), family=family).close()
except OSError as error:
    if error.errno == errno.EADDRINUSE:
        sys.exit(f"error: port {port} on {host} is in use: run 'PORT={int(port) + 1} make run'")
    sys.exit(f"error: cannot listen on {host}:{port}: {error.strerror or error}")
endef
export CHECK_PORT

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
