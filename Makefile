# Set-up and the README's commands. Every target creates .venv when missing:
# torch==2.13.0 first (a CPU build; an unpinned install would pull several GB of CUDA),
# then this package editable with its dev extra.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

.PHONY: demo test lint format bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev,sionna,rllib]" torch==2.13.0
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m agents.cli scoreboard

test: $(STAMP)
	$(PY) -m pytest -n 2

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: $(STAMP)
	$(PY) -m ua_envs.benchmarks core

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
