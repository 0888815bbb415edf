# The two commands of README.md (`make run`, `make test`) set everything up
# from a fresh clone: a virtual environment in .venv, the dependencies, and the
# compiled extension, rebuilt when csrc/ or setup.py change.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEPS := $(VENV)/.deps-installed
BUILT := $(VENV)/.extension-built
CSRC := $(shell find csrc -name '*.cpp' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh')
SOURCES := setup.py pyproject.toml $(CSRC)
# The formatters (requirements-format.txt), in a venv of their own: checking
# the format needs neither torch nor the extension.
FORMAT_VENV ?= .venv-format
FORMAT_DEPS := $(FORMAT_VENV)/.deps-installed
RUFF := $(FORMAT_VENV)/bin/ruff
CLANG_FORMAT := $(FORMAT_VENV)/bin/clang-format

.PHONY: setup run test bench bench-quick format format-check clean

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

$(FORMAT_DEPS): requirements-format.txt
	$(PYTHON) -m venv $(FORMAT_VENV)
	$(FORMAT_VENV)/bin/python -m pip install --quiet -r requirements-format.txt
	touch $@

# Rewrites the tree: imports sorted (the only fix ruff makes here), Python
# formatted (pyproject.toml's [tool.ruff]: every .py file, tests/ and
# benchmarks/ included), csrc/ formatted (.clang-format).
format: $(FORMAT_DEPS)
	$(RUFF) check --select I --fix --quiet .
	$(RUFF) format .
	$(CLANG_FORMAT) -i $(CSRC)

# Changes nothing; fails when `make format` would change a file (named, with
# its first difference) or ruff's lint rules find something. Every check
# runs, then the status says if any failed.
format-check: $(FORMAT_DEPS)
	@status=0; \
	echo "ruff format --check"; $(RUFF) format --check --output-format concise . || status=1; \
	echo "ruff check"; $(RUFF) check --output-format concise . || status=1; \
	echo "clang-format (csrc/)"; $(CLANG_FORMAT) --dry-run --Werror --ferror-limit=1 $(CSRC) || status=1; \
	if [ $$status -ne 0 ]; then echo "format-check failed: 'make format' rewrites the formatting; lint findings need an edit" >&2; fi; \
	exit $$status

clean:
	rm -rf build *.egg-info torch_perceptron/_C*.so torch_perceptron/_build_info.py
