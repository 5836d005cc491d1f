# Two commands for a newcomer: `make run` and `make test`. Everything else is here for them.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
SYNCED := $(VENV)/.synced-$(shell cat uv.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint bench env clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

# Bytecode is compiled once here: where PYTHONDONTWRITEBYTECODE is set, every `warroom` command
# would otherwise compile its imports again (about two seconds of a short command).
$(SYNCED): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet --compile-bytecode
	$(VENV)/bin/python -m compileall -q warroom
	rm -f $(VENV)/.synced-*
	touch $@

env: $(SYNCED)

run: $(SYNCED)
	$(VENV)/bin/warroom db upgrade
	$(VENV)/bin/warroom setup --if-needed
	$(VENV)/bin/warroom serve

lint: $(SYNCED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy warroom
	$(VENV)/bin/lint-imports --no-cache

test: $(SYNCED)
	bash scripts/prepare-test-env.sh
	$(MAKE) --no-print-directory lint
	bash scripts/run-tests.sh

# Every benchmark in bench/, one after another (about 20 minutes on 2 cores): writes bench/RESULTS.md.
bench: $(SYNCED)
	bash scripts/prepare-test-env.sh
	$(VENV)/bin/python -m bench.report

clean:
	rm -rf .tools $(VENV) warroom.db warroom.db-wal warroom.db-shm
