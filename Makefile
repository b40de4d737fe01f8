# onexgen developer commands. CI calls exactly these (see .ci/run).
SHELL := /bin/bash
# The venv's interpreter: Debian's CPython 3.11 where it is installed with its venv module
# (statically linked; the generation pool's CPU per request was a fifth lower on it than on
# pyenv's build without PGO/LTO, BENCHMARKS.md "session 6"), else python3 (any CPython >= 3.11).
# Set PY to choose.
ifeq ($(origin PY),undefined)
PY := $(shell /usr/bin/python3.11 -c 'import ensurepip, venv' >/dev/null 2>&1 \
	&& echo /usr/bin/python3.11 || echo python3)
endif
STACK ?= plain
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(subst /,_,$(PY))

.DEFAULT_GOAL := help
.PHONY: help install system-deps stack-up stack-down run test test-unit lint bench migrate topics docs patterns embeddings clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml runtime/pyproject.toml
	@base() { "$$1" -c 'import sys; print(sys.base_prefix)' 2>/dev/null; }; \
	if [ -x $(BIN)/python ] && [ "$$(base $(BIN)/python)" != "$$(base $(PY))" ]; then \
		echo "$(VENV) was made with another interpreter: making it anew with $(PY)"; \
		rm -rf $(VENV); fi
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ./runtime -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create the venv and install onexgen with its dev tools

system-deps: ## install chromium and promtool (Debian packages) if missing; needs root
	@infra/system-deps.sh

stack-up: ## start local Kafka + Postgres in the background (addresses in .local/stack.env); STACK=secure: TLS, SCRAM, ACLs
	@ONEXGEN_STACK=$(STACK) infra/stack.sh up

stack-down: ## stop what stack-up started
	@ONEXGEN_STACK=$(STACK) infra/stack.sh down

run: $(STAMP) ## start the stack and a worker in the foreground; Ctrl-C stops everything
	@infra/run.sh

test: $(STAMP) system-deps ## start the stack, run the whole suite (unit + integration), stop the stack
	@infra/with-stack.sh $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

test-unit: $(STAMP) ## unit tests only (no services)
	$(BIN)/pytest -p no:cacheprovider tests/unit $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, mypy --strict and the import layers (import-linter)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP) ## benchmarks against the real services; tables on stdout, JSON in bench/results/
	@infra/with-stack.sh $(BIN)/python -m bench $(BENCH_ARGS)

migrate: $(STAMP) ## apply database migrations to ONEXGEN_DATABASE_URL (or the local stack)
	$(BIN)/onexgen migrate

topics: $(STAMP) ## create the topics on ONEXGEN_KAFKA_BOOTSTRAP (or the local stack)
	$(BIN)/onexgen topics

docs: $(STAMP) ## regenerate docs/reference (messages, CLI, configuration)
	$(BIN)/python docs/generate.py

patterns: $(STAMP) ## rebuild the corpus splits (late train writers w7-w10, held-out unseen w11-w14) and retrain the shipped pattern model
	$(BIN)/python data/patterns/corpus/build.py
	$(BIN)/onexgen patterns train --out onexgen/learning/patterns/data/default_model.npz

DISTILL_VENV := .distill-venv
embeddings: ## rebuild the static token vectors from MiniLM (own venv with torch, offline; never an onexgen dependency)
	@test -x $(DISTILL_VENV)/bin/python || $(PY) -m venv $(DISTILL_VENV)
	$(DISTILL_VENV)/bin/python -m pip install -q -r data/patterns/embeddings/requirements.txt
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(DISTILL_VENV)/bin/python data/patterns/embeddings/distill.py

clean: stack-down ## stop the stack and delete local state (.local) and the venv
	infra/kafka.sh clean; infra/postgres.sh clean; rm -rf .local $(VENV)
