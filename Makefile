# jimaku — the two quick-start commands are `make demo` and `make test`.
# Both create .venv (if missing), install every Python and Debian dependency, then run.

VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.jimaku-installed
# npm devDependencies (eslint, typescript, axe-core), installed from the lockfile only
NPM_STAMP := node_modules/.jimaku-npm-installed
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck js-lint js-test system-deps fixtures clean

demo: system-deps $(STAMP)
	$(VENV)/bin/jimaku demo

test: system-deps $(STAMP) $(NPM_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	npx --no-install eslint .
	npx --no-install tsc -p tsconfig.json
	node --test trigger_codec/js/test/
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(STAMP) $(NPM_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	npx --no-install eslint .

typecheck: $(STAMP) $(NPM_STAMP)
	$(VENV)/bin/mypy
	npx --no-install tsc -p tsconfig.json

# The JavaScript checks alone (eslint, tsc over JSDoc types, the node:test unit tests).
js-lint: $(NPM_STAMP)
	npx --no-install eslint .
	npx --no-install tsc -p tsconfig.json

js-test: js-lint
	node --test trigger_codec/js/test/

# Regenerate audio_fixtures/ (and manifest.json) from their recipes after a codec change, and check
# that each decodes as its manifest says (hand-recorded entries are kept).
fixtures: system-deps $(STAMP)
	$(PY) audio_fixtures/make_fixtures.py --check

# Debian packages the tests and the demo use (espeak-ng, sox, ffmpeg, nginx, PulseAudio, Chromium,
# PostgreSQL, PortAudio). Installs only what is missing; a no-op on a prepared machine.
system-deps:
	@bash tools/ensure-system-deps.sh

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

clean:
	rm -rf $(VENV) node_modules demo-out bench-out .pytest_cache .mypy_cache .ruff_cache
