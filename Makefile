# Two commands do all set-up on a fresh machine with Python >= 3.12:
#   make demo   - create .venv, install mapreg, run the main job on the diabetes data
#   make test   - same venv (plus test extras), run the whole test suite
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# First interpreter on PATH that is Python >= 3.12 (pyenv honours .python-version).
PYTHON ?= $(shell for p in python3.12 python3.13 python3.14 python3 python; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
	echo $$p; break; fi; done)
STAMP := $(VENV)/.mapreg-installed
# One BLAS thread per process: PyMC chains and pytest workers must not oversubscribe 2 cores.
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MPLBACKEND ?= Agg

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "mapreg needs Python >= 3.12 on PATH (none found)" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) -m mapreg demo

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2 --dist loadgroup -q

lint: $(STAMP)
	$(PY) -m ruff check .

bench: $(STAMP)
	$(PY) benchmarks/bench_solvers.py
	$(PY) benchmarks/bench_samplers.py
	$(PY) benchmarks/bench_path.py
	$(PY) benchmarks/bench_scaling.py
	$(PY) benchmarks/bench_dask.py
	$(PY) benchmarks/bench_gpu.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache mapreg.egg-info
