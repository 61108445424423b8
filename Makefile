# The two commands that matter: `make demo` and `make test`, from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
DATA ?= ../shared/data

.PHONY: help install demo test lint proto model clean

help:
	@echo "make demo    run the end-to-end demo on the embedded default backend"
	@echo "make test    run the whole test suite"
	@echo "make lint    ruff"
	@echo "make proto   regenerate the protobuf/gRPC code from protos/"
	@echo "make model   rebuild the bundled default condenser from DATA=$(DATA): label, train, convert"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools wheel

# Reinstalls only when pyproject.toml changes: quick when already installed.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet -e ".[all,dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/splitinfer demo

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

proto: $(STAMP)
	$(PY) -m grpc_tools.protoc -Iprotos --python_out=protos --pyi_out=protos --grpc_python_out=protos protos/splitinfer/v1/inference.proto

# Rebuilds sdk/assets/condenser.tflite end to end (teacher labels -> student -> gated bundle).
model: $(STAMP)
	$(PY) -m splitinfer.converters.make_model --data $(DATA)

clean:
	rm -rf $(VENV) build *.egg-info
