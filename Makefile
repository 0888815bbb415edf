# The two commands of README.md (`make run`, `make test`) set everything up
# from a fresh clone: a virtual environment in .venv, the dependencies, and the
# compiled extension, rebuilt when csrc/ or setup.py change.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEPS := $(VENV)/.deps-installed
BUILT := $(VENV)/.extension-built
SOURCES := setup.py pyproject.toml $(shell find csrc -name '*.cpp' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh')

.PHONY: setup run test bench bench-quick clean

setup: $(BUILT)

$(DEPS): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(BUILT): $(DEPS) $(SOURCES)
	@# A library of a build before the abi3 one would shadow it: Python tries
	@# the interpreter-specific suffix first.
	rm -f torch_perceptron/_C.cpython-*.so
	@echo "Compiling the C++ extension (the first time: about 2-4 minutes on 2 cores; later, only when csrc/ or setup.py change)"
	MAX_JOBS=2 $(PY) -m pip install --quiet --no-build-isolation --no-deps -e .
	touch $@

run: setup
	$(PY) examples/seed_experiment.py

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) -m benchmarks.run

bench-quick: setup
	$(PY) -m benchmarks.run --quick

clean:
	rm -rf build *.egg-info torch_perceptron/_C*.so torch_perceptron/_build_info.py
