#!/bin/sh
# Builds bench_loader and prints one Markdown table: MoCo-v2 view pairs per
# second from tensorgrad's loader and from torchvision with torch's
# DataLoader, on the same ShapeScenes images (64 px PNG, 320 px JPEG cut to
# 224 px views) with 0, 1 and 2 workers, next to a ResNet-18 training step
# (batch 32, 64 px) fed by tensorgrad's loader and by a fixed tensor (see
# README.md). Both sides run as separate processes, alternating, --reps
# times; the table holds medians. The images live in a temporary directory
# removed at the end. Progress goes to stderr. Extra arguments go to
# bench_loader.py, e.g. --reps 5, --pairs 2048, --steps 20.
#
# usage: bench/run_loader.sh [BUILD_DIR] [--reps 3] [--pairs 1024] [--steps 10] [--threads 2]
set -eu
. "$(dirname "$0")/build_dir.sh"
ninja -C "$build" bench/bench_loader >/dev/null
echo "# $(uptime)" >&2
/usr/bin/python3 "$root/bench/bench_loader.py" --compare "$build/bench/bench_loader" "$@"
echo "# $(uptime)" >&2
