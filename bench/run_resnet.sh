#!/bin/sh
# Builds bench_resnet and prints one Markdown table: a ResNet-18 training
# step (forward, backward, SGD) in tensorgrad and in PyTorch, at batch 32,
# 64x64 and 96x96 inputs, 1 and 2 threads (see README.md). Every
# configuration runs as separate processes, tensorgrad and PyTorch
# alternating, --reps times; the table holds medians. Progress goes to
# stderr. Extra arguments go to bench_resnet.py, e.g. --reps 5, --sizes 64,
# --threads 2, --no-torch-skx (skip the BLIS_ARCH_TYPE=0 PyTorch column);
# --depth 50 --batch 8 --sizes 224 times ResNet-50 at batch 8, 224x224.
#
# usage: bench/run_resnet.sh [BUILD_DIR] [--reps 3] [--steps 8] [--warmup 3] [--depth 18|50]
set -eu
. "$(dirname "$0")/build_dir.sh"
ninja -C "$build" bench/bench_resnet >/dev/null
echo "# $(uptime)" >&2
/usr/bin/python3 "$root/bench/bench_resnet.py" --compare "$build/bench/bench_resnet" \
  --sizes 64,96 --threads 1,2 --reps 3 --steps 8 --warmup 3 "$@"
echo "# $(uptime)" >&2
