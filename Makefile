# The two commands: `make book` builds everything, `make test` runs every test.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
# Kernels run in other folders: a relative data cache path must become absolute.
ifdef OSTEOBOOK_DATA_DIR
export OSTEOBOOK_DATA_DIR := $(abspath $(OSTEOBOOK_DATA_DIR))
endif

.PHONY: book test lock benchmark
book: $(VENV)/.installed
	$(BIN)/osteobook build

test: book
	for profile in profiles/*.yaml; do $(BIN)/osteobook build --profile $$(basename $$profile .yaml) || exit 1; done
	$(BIN)/python -m pytest -n 2 --dist loadfile tests
	$(BIN)/python -m pytest --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:randomly _build/executed/default

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	# JupyterLab opens the MyST chapter sources as notebooks (jupytext) on double-click.
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp scripts/jupyterlab_overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $@

# Re-resolve requirements.in into requirements.lock and environment.yml (same pins).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet -r requirements.in
	{ echo "# Full pinned environment (pip freeze of a venv built from requirements.in). Regenerate: make lock"; \
	  .venv-lock/bin/pip freeze --exclude-editable; } > requirements.lock
	rm -rf .venv-lock
	$(BIN)/python scripts/write_environment_yml.py

benchmark: $(VENV)/.installed
	$(BIN)/python scripts/benchmark.py --output benchmarks/build-times.md
