#!/usr/bin/env bash
# Installs the Debian 12 packages tensorgrad needs to build and test, skipping
# those already installed (apt-get runs only if something is missing).
#   tools/install-deps.sh           build + tests (what .ci/run uses)
#   tools/install-deps.sh --bench   also python3-torch, for bench/ comparisons
# Run as root, or as a user with sudo.
set -euo pipefail

packages=(gcc libc6-dev meson ninja-build pkg-config check
          libblis-openmp-dev libblis-dev zlib1g-dev libpng-dev libjpeg-dev
          libjansson-dev)
for arg in "$@"; do
    case "$arg" in
        --bench) packages+=(python3-torch) ;;
        *) echo "usage: $0 [--bench]" >&2; exit 2 ;;
    esac
done

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages already installed"
    exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
