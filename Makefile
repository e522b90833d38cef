# Two commands on a fresh machine with Python 3.11:
#   make run   - create .venv, install ckaflow, run the whole study on config/config.yaml
#   make test  - create .venv, install ckaflow with its test tools, run the whole test suite
PYTHON ?= python3.11
VENV ?= .venv
CORES ?= all
CONFIG ?= config/config.yaml
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run resume test lint bench lock clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

# The study, then its HTML report (findings first, every figure captioned) from what it made.
run: $(STAMP)
	MPLBACKEND=Agg $(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG)
	$(BIN)/snakemake --configfile $(CONFIG) --report results/report.html

# After a crash, a kill or a lost node: release the dead run's Snakemake locks, then rerun exactly
# the jobs it left incomplete, and the rest. A live run in this folder holds an OS lock
# (ckaflow.runlock) that makes `--unlock` itself stop with a message naming it: nothing is
# unlocked under a running workflow, however that workflow was started.
resume: $(STAMP)
	$(BIN)/snakemake --unlock --configfile $(CONFIG)
	MPLBACKEND=Agg $(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG) --rerun-incomplete
	$(BIN)/snakemake --configfile $(CONFIG) --report results/report.html

test: $(STAMP)
	$(BIN)/ruff check src workflow tests benchmarks
	$(BIN)/snakefmt --check Snakefile workflow/rules
	MPLBACKEND=Agg $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_similarity.py
	$(BIN)/python benchmarks/bench_intervals.py

# Re-pin the whole environment after changing a direct pin in pyproject.toml.
lock:
	rm -rf /tmp/ckaflow-lock && $(PYTHON) -m venv /tmp/ckaflow-lock
	/tmp/ckaflow-lock/bin/python -m pip install --quiet --upgrade pip
	/tmp/ckaflow-lock/bin/python -m pip install --quiet -e '.[test]'
	/tmp/ckaflow-lock/bin/python -m pip freeze --exclude-editable | grep -v '^ckaflow' > requirements.lock

clean:
	rm -rf $(VENV) .snakemake
