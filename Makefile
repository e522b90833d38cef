# Two commands on a fresh machine with Python 3.11:
#   make run   - create .venv, install ckaflow, run the whole study on config/config.yaml
#   make test  - create .venv, install ckaflow with its test tools, check the format and
#                Snakemake's lint, run the whole test suite
# On a machine with an NVIDIA GPU, add GPU=1 (make run GPU=1): the venv then holds
# tensorflow[and-cuda] and CuPy (requirements-gpu.lock) instead of tensorflow-cpu.
# BACKEND=jax or BACKEND=torch trains on Keras' JAX or PyTorch backend (config backend, else
# $KERAS_BACKEND): JAX's CPU build is always installed (the tests train on it), its CUDA build
# with GPU=1 (requirements-jax-gpu.lock); PyTorch is added only with BACKEND=torch, its CPU
# build from PyTorch's index (requirements-torch.lock), its CUDA build with GPU=1
# (requirements-torch-gpu.lock). `make test BACKEND=torch` runs the PyTorch tests too.
PYTHON ?= python3.11
VENV ?= .venv
CORES ?= all
CONFIG ?= config/config.yaml
GPU ?=
BACKEND ?= $(or $(KERAS_BACKEND),tensorflow)
BIN := $(VENV)/bin
ifeq ($(GPU),1)
BUILD := gpu
LOCK := requirements-gpu.lock
OTHER := tensorflow-cpu
else
BUILD := cpu
LOCK := requirements.lock
OTHER := tensorflow cupy-cuda12x
endif
EXTRAS := workflow,$(BUILD),test
VARIANT :=
INDEX :=
# What another install of the same venv may have left that this one must not keep: JAX's CUDA
# plugin outside BACKEND=jax GPU=1, and PyTorch's other build (its CPU and CUDA wheels share a
# version number, so pip would keep the one installed).
OTHER += jax-cuda12-plugin jax-cuda12-pjrt
ifeq ($(BACKEND),torch)
OTHER += torch
EXTRAS := $(EXTRAS),torch
VARIANT := -torch
LOCK := requirements-torch$(if $(filter 1,$(GPU)),-gpu).lock
INDEX := $(if $(filter 1,$(GPU)),,--extra-index-url https://download.pytorch.org/whl/cpu)
endif
ifeq ($(BACKEND)$(GPU),jax1)
OTHER := $(filter-out jax-cuda12-plugin jax-cuda12-pjrt,$(OTHER))
EXTRAS := $(EXTRAS),jax-gpu
VARIANT := -jax
LOCK := requirements-jax-gpu.lock
endif
STAMP := $(VENV)/.installed-$(BUILD)$(VARIANT)

.PHONY: run resume test lint bench lock gpu-proof clean

# The HTML report is written beside results/report.html and renamed over it when complete: a
# report step killed while writing leaves the previous report whole.
REPORT = KERAS_BACKEND=$(BACKEND) $(BIN)/snakemake --configfile $(CONFIG) --report results/report.partial.html \
	&& mv results/report.partial.html results/report.html

# On the default config, how this run compares with the committed reference run
# (docs/reference-run/): the same dataset and weight bytes? the same verdicts?
COMPARE = if [ "$(CONFIG)" = config/config.yaml ]; then \
	$(BIN)/python -m ckaflow compare-reference results; fi

# One TensorFlow build per venv: switching builds removes the other one first (tensorflow and
# tensorflow-cpu installed side by side overwrite each other's files).
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip uninstall --quiet --yes $(OTHER)
	rm -f $(VENV)/.installed-*
	$(BIN)/python -m pip install --quiet $(INDEX) -c $(LOCK) -e '.[$(EXTRAS)]'
	touch $(STAMP)

# The study, then its HTML report (findings first, every figure captioned) from what it made.
run: $(STAMP)
	KERAS_BACKEND=$(BACKEND) MPLBACKEND=Agg $(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG)
	$(REPORT)
	$(COMPARE)

# After a crash, a kill or a lost node: release the dead run's Snakemake locks, then rerun exactly
# the jobs it left incomplete, and the rest. A live run in this folder holds an OS lock
# (ckaflow.runlock) that makes `--unlock` itself stop with a message naming it: nothing is
# unlocked under a running workflow, however that workflow was started.
resume: $(STAMP)
	$(BIN)/snakemake --unlock --configfile $(CONFIG)
	KERAS_BACKEND=$(BACKEND) MPLBACKEND=Agg $(BIN)/snakemake --cores $(CORES) \
		--configfile $(CONFIG) --rerun-incomplete
	$(REPORT)
	$(COMPARE)

test: $(STAMP)
	$(BIN)/ruff check src workflow tests benchmarks tools examples
	$(BIN)/snakefmt --check Snakefile workflow
	$(BIN)/snakemake --lint
	KERAS_BACKEND=tensorflow MPLBACKEND=Agg $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_similarity.py
	$(BIN)/python benchmarks/bench_intervals.py
	$(BIN)/python benchmarks/bench_allcnn.py
	$(BIN)/python benchmarks/bench_scale.py

# Issue 14's proof on a machine with an NVIDIA GPU: the engine tests on CuPy, the benchmarks, the
# tiny study on GPU and CPU compared, one paper.yaml instance trained (tools/gpu_proof.sh).
gpu-proof:
	$(MAKE) $(VENV)/.installed-gpu$(if $(filter torch jax,$(BACKEND)),-$(BACKEND)) GPU=1
	BIN=$(BIN) BACKEND=$(BACKEND) tools/gpu_proof.sh

# Re-pin every environment after changing a direct pin in pyproject.toml: pip resolves each
# (without downloading the CUDA wheels) and tools/lock.py writes the pins. The GPU lock keeps
# the CPU lock's versions of everything the two share, and each backend's lock its base's.
lock:
	rm -rf /tmp/ckaflow-lock && $(PYTHON) -m venv /tmp/ckaflow-lock
	/tmp/ckaflow-lock/bin/python -m pip install --quiet --upgrade pip
	/tmp/ckaflow-lock/bin/python -m pip install --quiet --dry-run --ignore-installed \
		--report /tmp/ckaflow-lock/cpu.json '.[workflow,cpu,test]'
	$(PYTHON) tools/lock.py /tmp/ckaflow-lock/cpu.json > requirements.lock
	/tmp/ckaflow-lock/bin/python -m pip install --quiet --dry-run --ignore-installed \
		--report /tmp/ckaflow-lock/gpu.json -c requirements.lock '.[workflow,gpu,test]'
	$(PYTHON) tools/lock.py /tmp/ckaflow-lock/gpu.json > requirements-gpu.lock
	/tmp/ckaflow-lock/bin/python -m pip install --quiet --dry-run --ignore-installed \
		--report /tmp/ckaflow-lock/jax-gpu.json -c requirements-gpu.lock '.[workflow,gpu,test,jax-gpu]'
	$(PYTHON) tools/lock.py /tmp/ckaflow-lock/jax-gpu.json > requirements-jax-gpu.lock
	/tmp/ckaflow-lock/bin/python -m pip install --quiet --dry-run --ignore-installed \
		--extra-index-url https://download.pytorch.org/whl/cpu \
		--report /tmp/ckaflow-lock/torch.json -c requirements.lock '.[workflow,cpu,test,torch]'
	$(PYTHON) tools/lock.py /tmp/ckaflow-lock/torch.json > requirements-torch.lock
	/tmp/ckaflow-lock/bin/python -m pip install --quiet --dry-run --ignore-installed \
		--report /tmp/ckaflow-lock/torch-gpu.json -c requirements-gpu.lock '.[workflow,gpu,test,torch]'
	$(PYTHON) tools/lock.py /tmp/ckaflow-lock/torch-gpu.json > requirements-torch-gpu.lock

clean:
	rm -rf $(VENV) .snakemake
