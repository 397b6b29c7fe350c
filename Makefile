# Two commands do all the set-up: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint format bench clean data

# Debian's Fashion-MNIST package (the demo, a slow test and a benchmark use it).
FASHION := /usr/share/datasets/fashion-mnist
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[demo]"
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@ $(VENV)/.installed-demo

data:
	@[ -d $(FASHION) ] || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq dataset-fashion-mnist; } \
		|| echo "note: could not install dataset-fashion-mnist; the demo falls back to digits"

demo: $(VENV)/.installed-demo data
	$(BIN)/ember demo

test: $(STAMP) data
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python bench/eager.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples

format: $(STAMP)
	$(BIN)/ruff format src tests bench examples

clean:
	rm -rf $(VENV) build src/*.egg-info
