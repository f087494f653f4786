#!/bin/sh
# Builds bench_contrastive and prints one Markdown table: the full preset's
# MoCo-v2 and DenseCL pretraining steps (ResNet-18 width 0.25, small stem,
# 64x64 views, batch 256, queue 4096, split BN of 8 groups, shuffle BN;
# forward of both encoders, loss, backward, SGD, zero_grad) in tensorgrad
# and in PyTorch, at 1 and 2 threads: step times, images per second and
# their ratio, and tensorgrad's GFLOP/s against the FMA peak that
# bench_contrastive measures in the same run (with a streaming copy; see
# README.md). Every configuration runs as separate processes, one method
# each, tensorgrad and PyTorch alternating, --reps times; the table holds
# medians. Progress goes to stderr. Extra arguments go to
# bench_contrastive.py, e.g. --reps 5, --threads 2, --method densecl,
# --batch 64.
#
# usage: bench/run_contrastive.sh [BUILD_DIR] [--reps 3] [--steps 3] [--warmup 1] [--threads 1,2]
set -eu
. "$(dirname "$0")/build_dir.sh"
ninja -C "$build" bench/bench_contrastive >/dev/null
echo "# $(uptime)" >&2
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} /usr/bin/python3 "$root/bench/bench_contrastive.py" \
  --compare "$build/bench/bench_contrastive" --batch 256 --queue 4096 --groups 8 --width 0.25 --size 64 \
  --threads 1,2 --reps 3 --steps 3 --warmup 1 "$@"
echo "# $(uptime)" >&2
