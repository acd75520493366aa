# The two commands: `make serve` (set up, then run on the embedded AWS emulator) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint typecheck unit fuzz bench openapi clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	exec $(BIN)/s3api serve

test: $(STAMP)
	$(BIN)/ruff check s3api tests bench wsgi.py
	$(BIN)/mypy
	$(BIN)/pytest

fuzz: $(STAMP)
	S3API_FUZZ_EXAMPLES=300 $(BIN)/pytest -q tests/api/test_fuzz.py

bench: $(STAMP)
	$(BIN)/python -m bench

openapi: $(STAMP)
	$(BIN)/s3api openapi -o openapi/openapi.json

clean:
	rm -rf $(VENV) *.egg-info .mypy_cache .ruff_cache
