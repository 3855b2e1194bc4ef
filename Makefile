# Science platform deployment kit: every entry point an operator or CI needs.
# `make demo` and `make test` set themselves up; nothing must be installed by hand.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
SITE ?= local
# Downloads and built wheels are kept outside the clone, so a fresh clone installs offline-fast.
CACHE_DIR ?= $(HOME)/.cache/sciplat-kit

export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export EMULATOR_STATE_DIR ?= $(CURDIR)/.emulator
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# The mitogen strategy halves Ansible's per-task cost; its plugin ships inside the venv.
MITOGEN_STRATEGY_DIR = $(shell $(VENV)/bin/python -c 'import ansible_mitogen, os; print(os.path.dirname(ansible_mitogen.__file__) + "/plugins/strategy")' 2>/dev/null)
ANSIBLE_FAST = ANSIBLE_STRATEGY_PLUGINS=$(MITOGEN_STRATEGY_DIR) ANSIBLE_STRATEGY=mitogen_linear

STAMP := $(VENV)/.installed

.PHONY: help setup demo drift down emulator test lint unit molecule e2e bench lock clean envs env-test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv with the pinned dependencies

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --cache-dir $(CACHE_DIR)/pip -r requirements.lock
	$(VENV)/bin/pip install --quiet --cache-dir $(CACHE_DIR)/pip --no-deps -e .
	touch $@

emulator: setup ## start (or reuse) the emulated AWS account
	$(VENV)/bin/python -m emulator start

demo: setup emulator ## converge the local site against the emulator and show what exists
	$(ANSIBLE_FAST) ansible-playbook -i inventories/$(SITE) playbooks/site.yml
	$(VENV)/bin/runbook status --site $(SITE)

drift: setup ## what a converge would change on SITE (check mode, diff), changing nothing
	$(ANSIBLE_FAST) ansible-playbook -i inventories/$(SITE) playbooks/site.yml --check --diff

down: ## stop everything `make demo` started
	@if [ -x $(VENV)/bin/python ]; then $(VENV)/bin/python -m emulator stop; fi

test: setup lint unit molecule e2e ## lint, unit tests, every Molecule scenario, the end-to-end site test

lint: setup ## yamllint, ansible-lint (production profile), ruff
	yamllint --strict .
	ansible-lint --profile production --offline
	ruff check .
	ruff format --check .
	$(VENV)/bin/python -m environments list >/dev/null
	@for dockerfile in environments/*/*/Dockerfile; do \
	  dir=$${dockerfile%/Dockerfile}; version=$${dir##*/}; name=$${dir%/*}; name=$${name##*/}; \
	  $(VENV)/bin/python -m environments dockerfile $$name $$version --check >/dev/null || exit 1; \
	  hadolint $$dockerfile || exit 1; \
	done

unit: setup ## pytest: emulator, modules, filters, runbooks, bad input
	pytest -m 'not e2e' -q

molecule: setup ## every role's Molecule scenario (converge, idempotence, check, verify)
	@for role in roles/*/; do \
	  echo "== molecule test: $$role"; \
	  (cd $$role && $(ANSIBLE_FAST) molecule test) || exit 1; \
	done

e2e: setup ## converge the whole local site twice and check it from outside
	$(ANSIBLE_FAST) pytest -m e2e -q

bench: setup ## measure converge times and the critical-path ratio; writes bench/results.json
	$(VENV)/bin/python bench/converge.py --output bench/results.json
	$(VENV)/bin/python bench/environments.py --output bench/environments.json

envs: setup ## list the science environments and build each from its lock (cached by the lock's hash)
	$(VENV)/bin/python -m environments list
	$(VENV)/bin/python -m environments build

env-test: setup emulator ## build every environment and run its smoke notebooks against the emulated S3
	$(VENV)/bin/python -m environments test

lock: ## re-freeze requirements.lock from requirements.in
	rm -rf /tmp/sciplat-lock && $(PYTHON) -m venv /tmp/sciplat-lock
	/tmp/sciplat-lock/bin/pip install --quiet -r requirements.in
	/tmp/sciplat-lock/bin/pip freeze --exclude-editable > requirements.lock

clean: down ## remove the venv and local state
	rm -rf $(VENV) .emulator
