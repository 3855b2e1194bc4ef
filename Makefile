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

# helm (and kubectl) as `make kube` builds them, for the local EKS site's hub stage.
KUBE_BIN := $(CACHE_DIR)/kube/$(shell sed -n 's/^KUBERNETES_VERSION = "\(.*\)"$$/\1/p' emulator/kube/build.py)/bin
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH):$(KUBE_BIN)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export EMULATOR_STATE_DIR ?= $(CURDIR)/.emulator
# Local systemd machines (docs/hosts.md): rootfs copies, SSH keys and ports, under this directory.
export MACHINES_STATE_DIR ?= $(CURDIR)/.machines
# Debian packages the local machines need (systemd-nspawn, debootstrap), the browser test's, and the
# local Kubernetes clusters' (etcd, and containerd + runc + CNI plugins + iptables for real nodes).
KUBE_DEBS := etcd-server containerd runc containernetworking-plugins iptables
HOST_DEBS := systemd-container debootstrap chromium chromium-driver $(KUBE_DEBS)
# Where the emulator finds the Kubernetes components `make kube` builds (emulator/kube/build.py).
export SCIPLAT_CACHE := $(CACHE_DIR)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Python keeps its compiled modules (__pycache__) even where the environment says not to write them
# (PYTHONDONTWRITEBYTECODE): without them every ansible-playbook, test worker and emulator compiles all it
# imports again, a third of a validation run's CPU (docs/development.md, Speed).
unexport PYTHONDONTWRITEBYTECODE
# The mitogen strategy halves Ansible's per-task cost. runbooks/strategy holds it without mitogen's CPU
# pinning, which puts a run and all it starts on one core, and with the AWS SDK imported once per run
# (runbooks/strategy/mitogen_linear.py).
# The converge and hub benchmarks drive the site as the tests do, with the tests' helpers (tests/ansible_run.py,
# tests/hub_browser.py).
BENCH = PYTHONPATH=$(CURDIR)/tests $(VENV)/bin/python
ANSIBLE_FAST = ANSIBLE_STRATEGY_PLUGINS=$(CURDIR)/runbooks/strategy ANSIBLE_STRATEGY=mitogen_linear

STAMP := $(VENV)/.installed
OPERATOR_STAMP := $(VENV)/.installed-operator

.PHONY: install kubernetes-validate role-docs security-scan collection help host-deps lab-extension kube eks-chart eks-images bench-kube host demo-lock demo-wheels ami browser bench-hub setup demo drift drift-all cost down emulator test lint unit molecule e2e bench bench-usage drill envs env-test lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: host-deps $(STAMP) ## create .venv for development: the kit, the emulator, the machines, the tests' tools

install: $(OPERATOR_STAMP) ## create .venv for an operator's machine: the kit only (requirements.lock), no Debian packages

# Each Kubernetes component (kubelet, apiserver, ...) and each machine's systemd holds inotify instances,
# and a test run keeps several clusters and machines up at once: the kernel's default of 128 per user ran
# out (kubelet: "inotify_init: too many open files"). Raised as kind's known-issues page advises.
INOTIFY_INSTANCES = 1024
host-deps: ## install the Debian packages the local machines need (skipped when present); raise the inotify limit
	@missing=""; for deb in $(HOST_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$deb 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$deb"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@if [ "$$(cat /proc/sys/fs/inotify/max_user_instances)" -lt $(INOTIFY_INSTANCES) ]; then \
	  sysctl -q -w fs.inotify.max_user_instances=$(INOTIFY_INSTANCES) && \
	  echo "sysctl fs.inotify.max_user_instances=$(INOTIFY_INSTANCES) (Kubernetes nodes and machines; was lower)"; \
	fi

# uv (pinned in the lock) installs the lock in seconds from its cache; pip took ~4 minutes on a fresh clone.
# sync, not install: a package the lock drops leaves an existing venv too. The development install: the
# operator's distribution (pyproject.toml, requirements.lock) and the development one (dev/: the emulator,
# the local machines, the tests' tools), whose lock holds the operator's pins too.
UV_VERSION = $(shell sed -n 's/^uv==//p' requirements.lock)
# $(call venv_from,LOCK,EDITABLE PROJECTS,STAMP TO DROP)
define venv_from
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --cache-dir $(CACHE_DIR)/pip --no-deps uv==$(UV_VERSION)
	$(VENV)/bin/uv pip sync --quiet --python $(VENV)/bin/python --cache-dir $(CACHE_DIR)/uv $(1)
	$(VENV)/bin/uv pip install --quiet --python $(VENV)/bin/python --cache-dir $(CACHE_DIR)/uv --no-deps $(2)
	rm -f $(3)
	touch $@
endef
$(STAMP): dev/requirements.lock pyproject.toml dev/pyproject.toml
	$(call venv_from,dev/requirements.lock,-e . -e dev,$(OPERATOR_STAMP))
# The same venv with the operator's lock: sync removes what only the development install has.
$(OPERATOR_STAMP): requirements.lock pyproject.toml
	$(call venv_from,requirements.lock,-e .,$(STAMP))

# The storage notice's JupyterLab extension (lab_extension/): a wheel built with JupyterLab's tools from
# PyPI and npm (node 20), once per set of inputs in CACHE_DIR/lab-extension/<key>, copied to build/lab-extension/.
lab-extension: setup ## build the storage notice's JupyterLab extension wheel (cached by its inputs)
	$(VENV)/bin/python lab_extension/build.py --cache $(CACHE_DIR)

# kubernetes-validate (the tests' Kubernetes schema check of rendered manifests) in a venv of its own,
# apart from the locks: kubernetes.dynamic imports it whenever it is importable, which cost every
# kubernetes.core task on the controller over a second. One venv per set of pins (the tool and everything
# it needs), outside the clone; build/kubernetes-validate links to it for tests/kube_validate.py.
KUBERNETES_VALIDATE_PINS := kubernetes-validate==1.37.0 importlib_resources==7.1.0 jsonschema==4.26.0 \
  jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==2026.9.1 attrs==26.1.0 PyYAML==6.0.4 \
  packaging==26.4 typing_extensions==4.16.0
KUBERNETES_VALIDATE_VENV = $(CACHE_DIR)/kubernetes-validate/$(shell echo '$(KUBERNETES_VALIDATE_PINS)' | sha256sum | cut -c1-16)
kubernetes-validate: setup ## the tests' manifest checker (kubernetes-validate) in its own venv, once per set of pins
	@test -e $(KUBERNETES_VALIDATE_VENV)/.complete || { rm -rf $(KUBERNETES_VALIDATE_VENV) && \
	  $(PYTHON) -m venv --without-pip $(KUBERNETES_VALIDATE_VENV) && \
	  $(VENV)/bin/uv pip install --quiet --python $(KUBERNETES_VALIDATE_VENV)/bin/python \
	    --cache-dir $(CACHE_DIR)/uv $(KUBERNETES_VALIDATE_PINS) && \
	  touch $(KUBERNETES_VALIDATE_VENV)/.complete; }
	@mkdir -p build && ln -sfn $(KUBERNETES_VALIDATE_VENV) build/kubernetes-validate

kube: setup ## build the Kubernetes components behind the emulated EKS (Go module proxy; cached by version)
	$(VENV)/bin/python -m emulator.kube.build

emulator: setup kube ## start (or reuse) the emulated AWS account
	$(VENV)/bin/python -m emulator start

host: setup emulator ## boot the local site's hub machine (systemd-nspawn; SSH on a loopback port)
	$(VENV)/bin/python -m machines start hub --port http --port hub_api --port proxy_api \
	  --bind $(EMULATOR_STATE_DIR)/efs:/srv/efs --bind $(CACHE_DIR)/hub:/var/cache/sciplat-kit

# The demo image's Python wheels (roles/demo_host's lock), downloaded once per lock for offline installs on
# local machines.
# The demo image's environment (what inventories/*/group_vars/all/demo.yml point demo_host_requirements_file at).
# roles/demo_host/files/requirements.txt, the role's standalone default, is a copy of its lock: `make demo-lock`
# writes it, tests/test_environments.py checks it is equal.
DEMO_ENV := environments/demo/2026.11
DEMO_LOCK := $(DEMO_ENV)/requirements.lock
DEMO_WHEELS = $(CACHE_DIR)/demo-host/wheels-$(shell sha256sum $(DEMO_LOCK) | cut -c1-16)

demo-lock: ## copy the demo environment's lock to demo_host's bundled files/requirements.txt (after a bump)
	cp $(DEMO_LOCK) roles/demo_host/files/requirements.txt

demo-wheels: setup ## download the demo image's pinned wheels (once per lock) for offline installs
	@test -e $(DEMO_WHEELS)/.complete || { \
	  $(VENV)/bin/python -m pip download --quiet --no-deps --only-binary=:all: --cache-dir $(CACHE_DIR)/pip \
	    -r $(DEMO_LOCK) -d $(DEMO_WHEELS) && touch $(DEMO_WHEELS)/.complete; }

ami: setup emulator ## bake the public-data demo image on SITE (local: the builder is a fresh machine ami-builder)
	@if [ "$(SITE)" = local ]; then \
	  $(MAKE) --no-print-directory demo-wheels && \
	  $(VENV)/bin/python -m machines destroy ami-builder && \
	  $(VENV)/bin/python -m machines start ami-builder --port jupyter \
	    --bind $(DEMO_WHEELS):/var/cache/sciplat-demo/wheels:ro; \
	fi
	$(ANSIBLE_FAST) ansible-playbook -i inventories/$(SITE) playbooks/ami.yml

# SITE=local-eks (the EKS backend on the local cluster) has no hub machine: the stand-in chart and its
# images go to the emulator before the converge, the profiles' science environments after it.
EKS_SITES := local-eks
EKS_ENVIRONMENTS := hst/2026.11 tess/2026.11
SITE_OUTPUT = $${SITE_OUTPUT_DIR:-site-output/$(SITE)}
demo: setup lab-extension emulator $(if $(filter $(EKS_SITES),$(SITE)),eks-chart,host) ## converge the local site (SITE=local-eks: the EKS one) against the emulator and show what exists
	@mkdir -p $(SITE_OUTPUT)
	$(ANSIBLE_FAST) ansible-playbook -i inventories/$(SITE) playbooks/site.yml | tee $(SITE_OUTPUT)/converge.log
	@if [ -n "$(filter $(EKS_SITES),$(SITE))" ]; then $(MAKE) --no-print-directory eks-images; fi
	$(VENV)/bin/runbook status --site $(SITE)
	@url=$$(sed -n "s/^ *\"\?msg\"\?: [\"']hub: \(http[^\"']*\)[\"']$$/\1/p" $(SITE_OUTPUT)/converge.log | tail -1); \
	echo "hub: $${url:-http://127.0.0.1:$$($(VENV)/bin/python -m machines port hub http)/} (user astro1, password sciplat-demo)"

eks-chart: setup emulator ## SITE=local-eks: the stand-in zero-to-jupyterhub chart (archive) and its images (to the emulator)
	$(VENV)/bin/python -m emulator.kube.z2jh --chart $(SITE_OUTPUT)/charts/jupyterhub-4.4.0.tgz \
	  --publish "$$(cat $(EMULATOR_STATE_DIR)/endpoint)"

# The public data (small FITS files in s3://stpubdata, written with the hst environment's astropy), so that
# a user's notebook on the local EKS site reads what it would read on AWS.
eks-images: setup emulator lab-extension ## SITE=local-eks: build the profiles' science environment images and push them to the emulated ECR; seed the public data
	@for env in $(EKS_ENVIRONMENTS); do $(VENV)/bin/python -m environments image $${env%/*} $${env#*/} --push; done
	$(VENV)/bin/python -m environments seed hst 2026.11

browser: setup demo ## converge the local hub (make demo), then the browser tests: JupyterLab, a cell, the cost cap, quotas
	pytest -m browser -q

drift: setup ## what a converge would change on SITE (check mode, diff), changing nothing
	$(ANSIBLE_FAST) ansible-playbook -i inventories/$(SITE) playbooks/site.yml --check --diff

# One line per site and difference (docs/runbooks/drift.md); exit 0 no drift, 1 drift, 2 a site not checked.
# SKIP_TAGS=hub when the local hub machine is not up; JSON=FILE writes the report for a machine too.
drift-all: setup ## drift of every site, one line per difference (runbook drift --all), changing nothing
	$(VENV)/bin/runbook drift --all $(if $(SKIP_TAGS),--skip-tags $(SKIP_TAGS)) $(if $(JSON),--json $(JSON))

cost: setup ## expected monthly cost of SITE from its inventory and data/prices (COMPARE=other for two sites)
	$(VENV)/bin/runbook cost --site $(SITE) $(if $(COMPARE),--compare $(COMPARE))

down: ## stop everything `make demo` started (both local sites)
	@if [ -x $(VENV)/bin/python ]; then $(VENV)/bin/python -m machines stop hub; fi
	@if [ -x $(VENV)/bin/python ]; then $(VENV)/bin/python -m machines stop ami-builder; fi
	@if [ -x $(VENV)/bin/python ]; then $(VENV)/bin/python -m emulator stop; fi

# What `make test` runs, in this order, one make each; it ends with each stage's time (also when one fails).
# The browser stage runs beside e2e: both mostly wait on the emulator's scaled clock, on real nodes and on
# servers starting, so side by side they take little more than e2e alone. Its output goes to
# $(TEST_LOG_DIR)/browser.log, whose end is shown when both are done (all of it when it failed).
TEST_STAGES := lint unit molecule e2e
TEST_BESIDE_E2E := browser
TEST_LOG_DIR := site-output/test
test: setup kube ## lint, unit tests, Molecule scenarios, the end-to-end site test and (beside it) the browser tests
	@times=""; total=$$SECONDS; mkdir -p $(TEST_LOG_DIR); \
	failed() { echo "== stage times:$$times $$1 FAILED after $$2 s"; exit 1; }; \
	for stage in $(TEST_STAGES); do \
	  started=$$SECONDS; \
	  if [ $$stage = e2e ]; then \
	    echo "== make $(TEST_BESIDE_E2E) (beside e2e; output in $(TEST_LOG_DIR)/$(TEST_BESIDE_E2E).log)"; \
	    ( if $(MAKE) --no-print-directory $(TEST_BESIDE_E2E) > $(TEST_LOG_DIR)/$(TEST_BESIDE_E2E).log 2>&1; \
	      then rc=0; else rc=$$?; fi; echo "$$rc $$((SECONDS - started))" > $(TEST_LOG_DIR)/$(TEST_BESIDE_E2E).status ) & \
	    beside=$$!; \
	  fi; \
	  echo "== make $$stage"; \
	  $(MAKE) --no-print-directory $$stage || failed $$stage $$((SECONDS - started)); \
	  times="$$times $$stage $$((SECONDS - started)) s,"; \
	done; \
	wait $$beside; read rc took < $(TEST_LOG_DIR)/$(TEST_BESIDE_E2E).status; \
	echo "== make $(TEST_BESIDE_E2E) (beside e2e) ended: its log's last lines"; \
	if [ "$$rc" = 0 ]; then tail -n 4 $(TEST_LOG_DIR)/$(TEST_BESIDE_E2E).log; \
	else tail -n 200 $(TEST_LOG_DIR)/$(TEST_BESIDE_E2E).log; failed "$(TEST_BESIDE_E2E) (beside e2e)" $$took; fi; \
	echo "== stage times:$$times $(TEST_BESIDE_E2E) (beside e2e) $$took s, total $$((SECONDS - total)) s"

lint: setup lab-extension ## yamllint, ansible-lint (production profile), ruff; each Dockerfile is its render (which pins the storage notice's wheel)
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

# The roles' README variable tables are generated from meta/argument_specs.yml (tests/test_role_docs.py checks them).
role-docs: setup ## regenerate the roles' README variable tables from their meta/argument_specs.yml
	$(VENV)/bin/python tools/role_docs.py

unit: setup kube lab-extension kubernetes-validate ## pytest: emulator, modules, filters, runbooks, bad input
	pytest -m 'not e2e and not browser' -q -n 2 --dist loadfile --durations=30

# Scenarios run MOLECULE_JOBS at a time (tests/run_molecule.py: own state, own log, a line per scenario).
MOLECULE_JOBS ?= 4
molecule: setup kube demo-wheels lab-extension kubernetes-validate ## every role's Molecule scenarios (converge, idempotence, check, verify); state in .molecule/
	$(VENV)/bin/python tests/run_molecule.py --jobs $(MOLECULE_JOBS) $(SCENARIOS)

e2e: setup kube lab-extension ## converge the whole local site twice and check it from outside; every runbook procedure and a drill
	$(ANSIBLE_FAST) pytest -m e2e -q -n 3 --dist loadfile --durations=30

# The hub-host drill re-creates the single-node hub's machine: an EKS site has none.
DRILLS = user-files filesystem cluster $(if $(filter $(EKS_SITES),$(SITE)),,hub-host)
drill: setup lab-extension emulator $(if $(filter $(EKS_SITES),$(SITE)),eks-chart,host) ## converge SITE with its hub, run its disaster-recovery drills (four; three on SITE=local-eks), print where the reports are
	$(ANSIBLE_FAST) ansible-playbook -i inventories/$(SITE) playbooks/site.yml
	@if [ -n "$(filter $(EKS_SITES),$(SITE))" ]; then $(MAKE) --no-print-directory eks-images; fi
	@reports=""; for scenario in $(DRILLS); do \
	  echo "== runbook drill $$scenario --site $(SITE)"; \
	  out=$$($(VENV)/bin/runbook drill $$scenario --site $(SITE) --yes 2>&1) || { echo "$$out"; exit 1; }; \
	  echo "$$out" | grep -v '^      |'; \
	  reports="$$reports  $$(echo "$$out" | sed -n 's/^report: //p')"$$'\n'; \
	done; echo "Drill reports (Markdown; JSON beside them):"; printf '%s' "$$reports"

bench: demo ## converge timings, environment builds, hub spawn and login times, home usage measurement, Kubernetes start times; writes bench/*.json
	$(BENCH) bench/converge.py --output bench/results.json
	$(VENV)/bin/python bench/environment_builds.py --output bench/environments.json
	$(BENCH) bench/hub.py --output bench/hub_results.json
	$(VENV)/bin/python bench/home_usage.py --output bench/home_usage.json
	$(VENV)/bin/python bench/kube.py --output bench/kube.json

envs: setup ## list the science environments and build each from its lock (cached by the lock's hash)
	$(VENV)/bin/python -m environments list
	$(VENV)/bin/python -m environments build

env-test: setup emulator ## build every environment and run its smoke notebooks against the emulated S3
	$(VENV)/bin/python -m environments test

bench-usage: setup ## home usage measurement: 1,000 homes x 1,000 files, full and incremental (tree cached in CACHE_DIR/bench)
	$(VENV)/bin/python bench/home_usage.py --output bench/home_usage.json

bench-kube: setup kube ## the real Kubernetes behind EKS: recorded cold build, control plane start, CreateCluster to a Ready node
	$(VENV)/bin/python bench/kube.py --output bench/kube.json

bench-hub: setup ## after make demo (and/or SITE=local-eks): spawn and login-to-JupyterLab times on each local hub that is up
	$(BENCH) bench/hub.py --output bench/hub_results.json

# Not in the test flow: parliament and checkov go into a venv of their own on demand (checkov pins
# boto3 and others apart from the locks), outside the clone.
SECURITY_SCAN_VENV := $(CACHE_DIR)/security-scan-venv
SECURITY_SCAN_TOOLS := parliament==1.6.4 checkov
security-scan: setup ## IAM documents of the example site through parliament, checkov over the roles (and rendered manifests); figures in build/security-scan.txt
	@test -x $(SECURITY_SCAN_VENV)/bin/checkov || { $(PYTHON) -m venv $(SECURITY_SCAN_VENV) && \
	  $(SECURITY_SCAN_VENV)/bin/pip install --quiet --cache-dir $(CACHE_DIR)/pip $(SECURITY_SCAN_TOOLS); }
	PATH=$(PATH):$(SECURITY_SCAN_VENV)/bin $(VENV)/bin/python bench/security_scan.py --output build/security-scan.txt \
	  $(foreach dir,$(wildcard site-output/*/kubernetes),--manifests $(dir))

collection: setup ## build the sciplat.platform collection with the roles inside (build/collection/*.tar.gz)
	$(VENV)/bin/python tools/build_collection.py

OPERATOR_LOCK_HEADER = \# The operator install: requirements.in, frozen by make lock within the versions of dev/requirements.lock.
# The development lock first (a fresh venv of dev/requirements.in, frozen); the operator's lock is then
# resolved from requirements.in within the development lock's versions, so both pin the same.
lock: setup ## re-freeze dev/requirements.lock and requirements.lock from their .in files
	rm -rf /tmp/sciplat-lock && $(PYTHON) -m venv /tmp/sciplat-lock
	/tmp/sciplat-lock/bin/pip install --quiet -r dev/requirements.in
	/tmp/sciplat-lock/bin/pip freeze --exclude-editable > dev/requirements.lock
	grep -v '^#' dev/requirements.lock > /tmp/sciplat-lock/constraints.txt
	{ echo '$(OPERATOR_LOCK_HEADER)'; $(VENV)/bin/uv pip compile --quiet --no-header --no-annotate \
	  --python-version 3.11 --cache-dir $(CACHE_DIR)/uv --constraint /tmp/sciplat-lock/constraints.txt \
	  requirements.in; } > /tmp/sciplat-lock/requirements.lock
	mv /tmp/sciplat-lock/requirements.lock requirements.lock

clean: down ## remove the venv and local state
	rm -rf $(VENV) .emulator .machines .molecule
