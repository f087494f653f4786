#!/bin/sh
# Builds bench_matmul and prints tensorgrad vs raw BLIS vs PyTorch GEMM
# throughput (see README.md). Extra arguments go to bench_matmul.py,
# e.g. --threads 1 --reps 15.
#
# usage: bench/run_matmul.sh [BUILD_DIR] [--threads 1,2] [--reps 9]
set -eu
. "$(dirname "$0")/build_dir.sh"
ninja -C "$build" bench/bench_matmul >/dev/null
exec /usr/bin/python3 "$root/bench/bench_matmul.py" --bench "$build/bench/bench_matmul" "$@"
