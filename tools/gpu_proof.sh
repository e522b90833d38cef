#!/usr/bin/env bash
# Issue 14's proof on a machine with an NVIDIA GPU, in one command: `make gpu-proof`.
# Everything it prints is also written under $OUT (default results/gpu-proof/):
#   1. the engine's tests on CuPy (and PyTorch, if installed) and the device tests;
#   2. benchmarks/bench_similarity.py (the thesis' workload at full size, on CPU and GPU: the
#      products' TFLOP/s against the card's peak) and benchmarks/bench_training.py (images/s);
#   3. the tiny study end to end on the GPU and on the CPU, and their CKA tables compared;
#   4. config/paper.yaml: one base instance (synth-1) trained to the end of its schedule on the GPU;
#   5. All-CNN-C's training step at its published width (width 1, batch 128, 32 x 32 x 3), depths
#      1 and 2: images/s, an epoch of 50,000 images, and the loop's overhead over the bare step.
# BACKEND=jax or BACKEND=torch trains on that Keras backend (a GPU machine with JAX or PyTorch and
# no TensorFlow: copy the keras and ckaflow wheels over, then `BACKEND=jax tools/gpu_proof.sh`).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${OUT:-results/gpu-proof}")
BIN=$(realpath -m "${BIN:-.venv/bin}")
CORES=${CORES:-$(nproc)}
BACKEND=${BACKEND:-tensorflow}
mkdir -p "$OUT"
step() { echo; echo "== $* =="; }

step "the GPU"
"$BIN/python" -c "from ckaflow.device import compute_namespace as c; c('gpu')"  # fails, saying why
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"

step "1. engine tests on the GPU"
"$BIN/python" -m pytest -q -rs tests/test_array_api.py tests/test_device.py tests/test_similarity.py \
  $("$BIN/python" -c "import tensorflow" 2>/dev/null && echo tests/test_backends.py) \
  | tee "$OUT/tests.txt"

step "2. benchmarks"
"$BIN/python" benchmarks/bench_similarity.py | tee "$OUT/bench_similarity.txt"
"$BIN/python" benchmarks/bench_training.py --backend "$BACKEND" --loop-steps 0 \
  | tee "$OUT/bench_training.txt"

step "3. the tiny study on the GPU and on the CPU"
for where in gpu cpu; do
  dir="$OUT/tiny-$where"
  rm -rf "$dir" && mkdir -p "$dir"
  cp -r Snakefile workflow config envs profiles "$dir/"
  printf 'backend: %s\nsimilarity:\n  device: %s\n' "$BACKEND" "$where" > "$dir/device.yaml"
  visible=$([ "$where" = gpu ] && echo "${CUDA_VISIBLE_DEVICES:-0}" || echo "")
  ( cd "$dir" && start=$(date +%s) \
    && CUDA_VISIBLE_DEVICES="$visible" MPLBACKEND=Agg "$BIN/snakemake" --cores "$CORES" \
         --configfile config/tiny.yaml device.yaml --quiet rules \
    && echo "tiny study on the $where: $(( $(date +%s) - start )) s" ) | tee "$OUT/tiny-$where.txt"
  grep -h "computes on\|similarity on" "$dir"/logs/*/*.log | sort -u | head -4
done
"$BIN/python" tools/compare_cka.py "$OUT/tiny-gpu/results/cka.parquet" \
  "$OUT/tiny-cpu/results/cka.parquet" | tee "$OUT/tiny-gpu-vs-cpu.txt"

step "4. config/paper.yaml: synth-1 trained to the end of its schedule on the GPU"
dir="$OUT/paper"
rm -rf "$dir" && mkdir -p "$dir"
cp -r Snakefile workflow config envs profiles "$dir/"
printf 'backend: %s\nsimilarity:\n  device: gpu\n' "$BACKEND" > "$dir/device.yaml"
( cd "$dir" && start=$(date +%s) \
  && MPLBACKEND=Agg "$BIN/snakemake" results/models/synth-1/provenance.json --cores "$CORES" \
       --configfile config/paper.yaml device.yaml --quiet rules \
  && echo "paper.yaml synth-1: $(( $(date +%s) - start )) s" ) | tee "$OUT/paper.txt"
grep -h "computes on\|steps\|stopp" "$dir"/logs/train_base/*.log | tail -5 | tee -a "$OUT/paper.txt"
step "5. All-CNN-C at its published width on $BACKEND"
"$BIN/python" benchmarks/bench_allcnn.py --backend "$BACKEND" \
  | tee "$OUT/bench_allcnn.txt"
echo; echo "all of it under $OUT"
