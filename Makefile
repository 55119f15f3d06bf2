# Every target uses the virtualenv's own executables; an activated venv is never assumed.
VENV ?= .venv
# The Python the virtualenv is made from. As root, endpoint processes run as the
# unprivileged user `shipyard` (README: the trust model), who must be able to run the
# virtualenv's Python; a Python under /root (pyenv's, say) is out of its reach, so root
# prefers the system's Python 3.11+ when it has one. BOOTSTRAP_PYTHON=... overrides.
SYSTEM_PYTHON := $(shell [ "$$(id -u)" = 0 ] && for p in /usr/bin/python3 /usr/local/bin/python3; do \
	"$$p" -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& echo "$$p" && break; done)
BOOTSTRAP_PYTHON ?= $(or $(SYSTEM_PYTHON),python3)
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FAST_MARKERS := not slow and not e2e and not postgres and not ray and not browser

.PHONY: install lint test test-fast demo bench format clean

install: $(STAMP)

# The stamp makes re-runs instant; it is refreshed whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(PYTHON) || $(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install -e '.[dev]'
	touch $@

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy src

test: install lint
	$(VENV)/bin/pytest --durations=20 \
		--cov=shipyard --cov-branch --cov-report=term:skip-covered

test-fast: install
	$(VENV)/bin/pytest -m "$(FAST_MARKERS)" -q

demo: install
	$(VENV)/bin/shipyard demo $(DEMO_ARGS)

bench: install
	@set -e; for script in benchmarks/*.py; do \
		[ -e "$$script" ] || continue; \
		echo "== $$script"; \
		$(PYTHON) "$$script"; \
	done

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* htmlcov
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
