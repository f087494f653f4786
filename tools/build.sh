#!/usr/bin/env bash
# Configures a build directory once, then builds it.
#   tools/build.sh [BUILD_DIR] [MESON OPTIONS...]    (default: build)
# Run from the repository root. Options given for an existing directory are
# applied with `meson configure`.
. "$(dirname "$0")/script_help.sh"
set -euo pipefail
dir=${1:-build}
shift || true
if [ -f "$dir/build.ninja" ]; then
    if [ $# -gt 0 ]; then meson configure "$dir" "$@"; fi
else
    meson setup "$dir" "$@"
fi
ninja -C "$dir"
