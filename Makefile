# cloudinfer — developer entry points. `make dev` and `make test` work on a fresh machine with
# Python 3.11+, Go 1.25+ and kubectl: everything else is installed or built here.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: help install binaries tools test test-unit test-integration lint format crds dev dev-down image bench bench-scale clean

help:
	@echo "make dev               local control plane + operator + examples (Ctrl-C stops)"
	@echo "make test              unit and integration tests (real kube-apiserver)"
	@echo "make lint              ruff + mypy"
	@echo "make crds              regenerate crds/ from the models"
	@echo "make binaries          build/locate etcd and kube-apiserver (cached)"
	@echo "make tools             build/locate helm, helm-unittest, actionlint (cached)"
	@echo "make image             container image (Docker, else mmdebstrap + buildah); OCI layout in dist/image"
	@echo "make bench             benchmarks; results in bench/results/"
	@echo "make bench-scale       scale benchmark, e.g. BENCH_ARGS=\"--services 10000\""

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,lint]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# etcd + kube-apiserver: $KUBEBUILDER_ASSETS, $PATH, the cache, or built once with Go.
binaries: install
	$(BIN)/cloudinfer control-plane binaries

# helm, helm-unittest and actionlint for the shipping tests: the cache, else built with Go.
tools: install
	$(BIN)/cloudinfer control-plane tools

test: binaries tools
	$(BIN)/pytest tests $(PYTEST_ARGS)

test-unit: tools
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-integration: binaries
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check operator tests bench hack
	$(BIN)/ruff format --check operator tests bench hack
	$(BIN)/mypy

format: install
	$(BIN)/ruff format operator tests bench hack
	$(BIN)/ruff check --fix operator tests bench hack

crds: install
	$(BIN)/cloudinfer crds --output-dir crds
	$(BIN)/cloudinfer crds --output-dir charts/cloudinfer/crds

dev: binaries
	$(BIN)/cloudinfer dev --dir .dev

dev-down:
	@if [ -f .dev/dev.pid ]; then kill -TERM $$(cat .dev/dev.pid) && echo "stopping the dev stack"; \
	else echo "no dev stack running"; fi

# Docker when a daemon answers, else a Debian base from mmdebstrap and buildah (no daemon, no
# registry needed); installs buildah/mmdebstrap with apt when missing. Not part of `make test`.
image: install
	hack/build-image.sh

# Not part of `make test`: benchmarks measure, they do not pass or fail. One at a time: they
# share the machine's cores with what they measure.
bench: binaries
	$(BIN)/python bench/eas_bench.py $(BENCH_ARGS)
	$(BIN)/python bench/scale_bench.py --services 1000

bench-scale: binaries
	$(BIN)/python bench/scale_bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .dev .pytest_cache .mypy_cache .ruff_cache
