# The two commands that matter: `make demo` and `make test`, from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
DATA ?= ../shared/data
JOBS ?= 2

.PHONY: help install demo test test-llama lint proto model eval golden android-core clean

help:
	@echo "make demo    run the end-to-end demo on the embedded default backend"
	@echo "make test    run the whole test suite"
	@echo "make test-llama  integration tests against a real llama.cpp server (first run builds it: ~15 min)"
	@echo "make lint    ruff"
	@echo "make proto   regenerate the protobuf/gRPC code from protos/"
	@echo "make eval    evaluate the bundled condenser on held-out DATA into docs/eval (LIMIT=n: a slice, into build/eval-slice; JOBS=n runs at a time, default 2; the teacher's scores and the answers, which do not depend on the bundle, are kept in build/eval-cache.sqlite and reused)"
	@echo "make golden  regenerate the Android golden vectors from the SDK"
	@echo "make android-core  compile and JUnit-test the Android core"
	@echo "make model   rebuild the bundled default condenser from DATA=$(DATA): label (JOBS=n slices at a time, default 2), train, convert"

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

# Opt-in: a real OpenAI-compatible engine (llama.cpp's server) behind `--backend openai`.
# Its own venv under build/ so normal installs never compile llama.cpp; the stamp names the
# pinned versions, so a rerun does not rebuild and a version bump does.
LLAMA_VENV := build/llama-venv
LLAMA_PY := $(LLAMA_VENV)/bin/python
LLAMA_CPP_VERSION := 0.3.36
GGUF_VERSION := 0.19.0
LLAMA_STAMP := $(LLAMA_VENV)/.installed-$(LLAMA_CPP_VERSION)-$(GGUF_VERSION)

$(LLAMA_PY):
	$(PYTHON) -m venv $(LLAMA_VENV)
	$(LLAMA_PY) -m pip install --quiet --upgrade pip

$(LLAMA_STAMP): | $(LLAMA_PY)
	$(LLAMA_PY) -m pip install --quiet "llama-cpp-python[server]==$(LLAMA_CPP_VERSION)" "gguf==$(GGUF_VERSION)"
	touch $(LLAMA_STAMP)

test-llama: $(STAMP) $(LLAMA_STAMP)
	SPLITINFER_LLAMA_PYTHON=$(LLAMA_PY) $(PY) -m pytest -q -p no:cacheprovider tests/integration

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

proto: $(STAMP)
	$(PY) -m grpc_tools.protoc -Iprotos --python_out=protos --pyi_out=protos --grpc_python_out=protos protos/splitinfer/v1/inference.proto

# Rebuilds sdk/assets/condenser.tflite end to end (teacher labels -> student -> gated bundle).
model: $(STAMP)
	$(PY) -m splitinfer.converters.make_model --data $(DATA) --jobs $(JOBS)

# The quality report of the bundled condenser: held-out data only, tables, plots, targets.
eval: $(STAMP)
	$(PY) -m splitinfer.evaluation.suite --data $(DATA) --jobs $(JOBS) $(if $(LIMIT),--out build/eval-slice --limit $(LIMIT),--out docs/eval)

# Rewrite the golden vectors (and the Java tokenizer's Unicode table) from the Python SDK.
golden: $(STAMP)
	$(PY) android_demo/golden/make_golden.py

# Compile android_demo/core with javac and run its JUnit tests against the golden vectors.
android-core:
	bash android_demo/core/build.sh

clean:
	rm -rf $(VENV) build *.egg-info
