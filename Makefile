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

# Profiles build two at a time (each log is printed if its build fails); then the tests, the notebook check
# (nbval re-runs every chapter) and the determinism test that compares those re-runs with the build.
test: book
	ls profiles/*.yaml | xargs -P 2 -I{} sh -c 'name=$$(basename {} .yaml); \
	  $(BIN)/osteobook build --profile $$name > _build/profile-$$name.log 2>&1 || { cat _build/profile-$$name.log; exit 1; }'
	$(BIN)/python -m pytest -n 2 --dist worksteal -m "not clean_venv and not after_nbval" tests
	$(BIN)/python -m pytest -n 2 --dist loadfile --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:randomly _build/executed/default
	$(BIN)/python -m pytest -q -p no:randomly -m after_nbval tests

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
	  .venv-lock/bin/pip freeze --all --exclude pip --exclude-editable; } > requirements.lock
	rm -rf .venv-lock
	$(BIN)/python scripts/write_environment_yml.py

benchmark: $(VENV)/.installed
	$(BIN)/python scripts/benchmark.py --output benchmarks/build-times.md

# Printable book for offline classroom use: the default and the student build printed to PDF (one file per page
# and the whole book) into <html>/pdf/, linked from the course page. Re-run after every `make book`.
.PHONY: pdf
pdf: book
	$(BIN)/osteobook build --profile student
	$(BIN)/python scripts/print_pdf.py
	$(BIN)/python scripts/print_pdf.py --variant student

# Launch twins: every chapter as a plain notebook with a setup cell and this build's numbers in its text
# (_build/launch/<chapter>.ipynb), for Binder, Colab or a download.
.PHONY: launch
launch: book
	$(BIN)/python scripts/launch_notebooks.py

# Open the chapters in JupyterLab as students do: their launch twins (this build's numbers and figures in the
# text, boxes rendered by jupyterlab-myst), written to _build/launch/ from the built book.
.PHONY: lab
lab: book
	$(BIN)/python scripts/launch_notebooks.py
	$(BIN)/jupyter lab _build/launch

# Every launch twin runs top to bottom in a new venv with only the README's install (the lock's wheels from
# _build/wheelhouse, fetched once; then offline): minutes, so apart from `make test`; .ci/run calls both.
.PHONY: test-launch
test-launch: book
	$(BIN)/python -m pytest -q -p no:randomly -m clean_venv tests/book/test_launch.py
