# make install | demo | test | lint | format. Everything installs into .venv from this repo's own files.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.steadyseg-installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install demo test test-fast lint format clean

install: $(STAMP)

$(STAMP): setup.py pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade "pip>=24"
	PIP_CONSTRAINT=$(CURDIR)/constraints.txt $(PYTHON) -m pip install -q -e ".[dev,deploy]"
	touch $(STAMP)

demo: install
	$(PYTHON) tools/demo.py --work-dir work_dirs/demo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: install lint
	$(VENV)/bin/pytest -q -n 2 --durations=15

test-fast: install
	$(VENV)/bin/pytest -q -m "not slow"

clean:
	rm -rf $(VENV) work_dirs
