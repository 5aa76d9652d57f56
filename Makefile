# The two commands: `make run` (the whole service on an embedded default) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Local defaults for `make run`: DEBUG on, SQLite and the embedded broker unless the
# environment says otherwise.
RUN_ENV := DEBUG=$${DEBUG:-true}

.PHONY: install run test lint format bench rehearsal clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(RUN_ENV) $(VENV)/bin/oncall migrate --noinput
	$(RUN_ENV) $(VENV)/bin/oncall demo
	$(RUN_ENV) $(VENV)/bin/oncall runall

test: install
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
	rm -rf $(VENV) var .pytest_cache .ruff_cache
