#!/bin/sh
# Builds examples/gpt_chars and prints one Markdown table: the character
# GPT's training throughput (tokens a second: its default model, 4 pre-LN
# blocks of width 128, 4 heads, context 64, batch 32; forward, backward,
# clipping, AdamW) in tensorgrad and in PyTorch (the same model and step,
# bench_gpt.py), at 1 and 2 threads, and their ratio. Every configuration
# runs as separate processes, tensorgrad and PyTorch alternating, --reps
# times; the table holds medians. Both sides run under the environment's
# OpenMP wait policy (libgomp's default unless OMP_WAIT_POLICY is set).
# Progress goes to stderr. Extra arguments go to bench_gpt.py, e.g.
# --reps 5, --threads 2, --steps 100, --no-torch-skx.
#
# usage: bench/run_gpt.sh [BUILD_DIR] [--reps 3] [--steps 60] [--threads 1,2]
set -eu
. "$(dirname "$0")/build_dir.sh"
ninja -C "$build" examples/gpt_chars >/dev/null
echo "# $(uptime)" >&2
/usr/bin/python3 "$root/bench/bench_gpt.py" \
  --compare "$build/examples/gpt_chars" --threads 1,2 --reps 3 "$@"
echo "# $(uptime)" >&2
