#!/usr/bin/env bash
# The GAN benchmark: Rust (burn flex, bench profile) and the same architecture in PyTorch
# (bench/torch_gan.py) in one run, with ratios, GFLOP/s and the peak memory of
# `orchestrion generate`. Prints a Markdown table (the one in BENCHMARKS.md, "Model").
#
#   bash bench/run.sh                 # 2 threads, 30 generation runs, 10 training steps
#   BENCH_THREADS=1 bash bench/run.sh
#   BENCH_CONFIGS=chorale bash bench/run.sh
#
# Needs: python3 with torch (`pip install torch`), /usr/bin/time (apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
threads="${BENCH_THREADS:-2}"
export BENCH_THREADS="$threads" RAYON_NUM_THREADS="$threads"
# PyTorch's OpenMP threads spin while waiting by default, which collapses on a busy machine.
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$threads"

# The binary whose process memory is measured (the debug build is what the tests use; pass
# ORCHESTRION_BIN to measure another one).
if [[ -z "${ORCHESTRION_BIN:-}" ]]; then
  cargo build -q -p orchestrion
  export ORCHESTRION_BIN="$CARGO_TARGET_DIR/debug/orchestrion"
fi
python3 -c "import torch; print('torch', torch.__version__)" || echo "torch missing: PyTorch columns will be empty (pip install torch)"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(uptime | sed 's/.*load average: //')"
cargo bench -p orchestrion-model --bench gan
