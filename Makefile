# Two commands on a fresh machine with Python 3.11:
#   make run   - create .venv, install ckaflow, run the whole study on config/config.yaml
#   make test  - create .venv, install ckaflow with its test tools, check the format and
#                Snakemake's lint, run the whole test suite
# On a machine with an NVIDIA GPU, add GPU=1 (make run GPU=1): the venv then holds
# tensorflow[and-cuda] and CuPy (requirements-gpu.lock) instead of tensorflow-cpu.
PYTHON ?= python3.11
VENV ?= .venv
CORES ?= all
CONFIG ?= config/config.yaml
GPU ?=
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
STAMP := $(VENV)/.installed-$(BUILD)

.PHONY: run resume test lint bench lock gpu-proof clean

# The HTML report is written beside results/report.html and renamed over it when complete: a
# report step killed while writing leaves the previous report whole.
REPORT = $(BIN)/snakemake --configfile $(CONFIG) --report results/report.partial.html \
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
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[workflow,$(BUILD),test]'
	touch $(STAMP)

# The study, then its HTML report (findings first, every figure captioned) from what it made.
run: $(STAMP)
	MPLBACKEND=Agg $(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG)
	$(REPORT)
	$(COMPARE)

# After a crash, a kill or a lost node: release the dead run's Snakemake locks, then rerun exactly
# the jobs it left incomplete, and the rest. A live run in this folder holds an OS lock
# (ckaflow.runlock) that makes `--unlock` itself stop with a message naming it: nothing is
# unlocked under a running workflow, however that workflow was started.
resume: $(STAMP)
	$(BIN)/snakemake --unlock --configfile $(CONFIG)
	MPLBACKEND=Agg $(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG) --rerun-incomplete
	$(REPORT)
	$(COMPARE)

test: $(STAMP)
	$(BIN)/ruff check src workflow tests benchmarks tools examples
	$(BIN)/snakefmt --check Snakefile workflow
	$(BIN)/snakemake --lint
	MPLBACKEND=Agg $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_similarity.py
	$(BIN)/python benchmarks/bench_intervals.py
	$(BIN)/python benchmarks/bench_allcnn.py
	$(BIN)/python benchmarks/bench_scale.py

# Issue 14's proof on a machine with an NVIDIA GPU: the engine tests on CuPy, the benchmarks, the
# tiny study on GPU and CPU compared, one paper.yaml instance trained (tools/gpu_proof.sh).
gpu-proof:
	$(MAKE) $(VENV)/.installed-gpu GPU=1
	BIN=$(BIN) tools/gpu_proof.sh

# Re-pin both environments after changing a direct pin in pyproject.toml: pip resolves each
# (without downloading the CUDA wheels) and tools/lock.py writes the pins. The GPU lock keeps
# the CPU lock's versions of everything the two share.
lock:
	rm -rf /tmp/ckaflow-lock && $(PYTHON) -m venv /tmp/ckaflow-lock
	/tmp/ckaflow-lock/bin/python -m pip install --quiet --upgrade pip
	/tmp/ckaflow-lock/bin/python -m pip install --quiet --dry-run --ignore-installed \
		--report /tmp/ckaflow-lock/cpu.json '.[workflow,cpu,test]'
	$(PYTHON) tools/lock.py /tmp/ckaflow-lock/cpu.json > requirements.lock
	/tmp/ckaflow-lock/bin/python -m pip install --quiet --dry-run --ignore-installed \
		--report /tmp/ckaflow-lock/gpu.json -c requirements.lock '.[workflow,gpu,test]'
	$(PYTHON) tools/lock.py /tmp/ckaflow-lock/gpu.json > requirements-gpu.lock

clean:
	rm -rf $(VENV) .snakemake
