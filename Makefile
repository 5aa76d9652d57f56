# The two commands: `make run` (the whole service on an embedded default) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# What the browser tests inject into pages (axe-core), from npm, when npm is on the machine.
JS := tests/browser
JS_STAMP := $(JS)/node_modules/.installed-stamp
# Local defaults for `make run`: DEBUG on, SQLite and the embedded broker unless the
# environment says otherwise.
RUN_ENV := DEBUG=$${DEBUG:-true}

.PHONY: install js run test lint format bench rehearsal clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

$(JS_STAMP): $(JS)/package.json $(JS)/package-lock.json
	cd $(JS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $(JS_STAMP)

# Without npm the accessibility tests skip (and fail under CI=true), saying so.
js:
	@if command -v npm >/dev/null; then $(MAKE) -s --no-print-directory $(JS_STAMP); \
	else echo "npm not found: the browser tests' accessibility check will be skipped"; fi

run: install
	$(RUN_ENV) $(VENV)/bin/oncall migrate --noinput
	$(RUN_ENV) $(VENV)/bin/oncall demo
	$(RUN_ENV) $(VENV)/bin/oncall runall

test: install js
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec deploy/docker-compose.yml
	$(VENV)/bin/kubernetes-validate --strict --quiet deploy/k8s/*.yaml
	$(VENV)/bin/shellcheck deploy/entrypoint.sh deploy/systemd/oncall-liveness

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) bench/run.py

# Two web processes, three worker pools and beat; a worker killed and Redis restarted mid-run.
rehearsal: install
	$(PY) bench/rehearsal.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache $(JS)/node_modules
