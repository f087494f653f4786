#!/usr/bin/env bash
# Installs the Debian 12 packages tensorgrad needs to build and test, skipping
# those already installed (apt-get runs only if something is missing).
#   tools/install-deps.sh           build + tests (what .ci/run uses)
#   tools/install-deps.sh --bench   also what the Python scripts of bench/ and
#                                   tools/ import: PyTorch, torchvision, NumPy, Pillow
#   tools/install-deps.sh --docs    also doxygen, for the API reference
#                                   (meson option docs, target docs)
#   tools/install-deps.sh --fuzz    also clang and its sanitizer runtimes,
#                                   for the libFuzzer harnesses (fuzz/run.sh)
# The flags combine. Run as root, or as a user with sudo.
. "$(dirname "$0")/script_help.sh"
set -euo pipefail

packages=(gcc libc6-dev meson ninja-build pkg-config check
          libblis-openmp-dev libblis-dev zlib1g-dev libpng-dev libjpeg-dev libjansson-dev
          libopenmpi-dev openmpi-bin)
# The Debian names of torch, torchvision, numpy and PIL.
python_packages=(python3-torch python3-torchvision python3-numpy python3-pil)
for arg in "$@"; do
    case "$arg" in
        --bench) packages+=("${python_packages[@]}") ;;
        --docs) packages+=(doxygen) ;;
        --fuzz) packages+=(clang clang-14 libclang-rt-14-dev) ;;
        *) echo "usage: $0 [--bench] [--docs] [--fuzz] [--help]" >&2; exit 2 ;;
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
