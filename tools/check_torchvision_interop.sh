#!/bin/sh
# ResNet-18 weights both ways between torchvision and tensorgrad, as
# safetensors files with torchvision's names (needs python3-torch and
# python3-torchvision; the files, ~47 MB each, go to a temporary directory).
#   tools/check_torchvision_interop.sh [BUILD_DIR]
. "$(dirname "$0")/script_help.sh"
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
ninja -C "$build" tools/resnet_interop >/dev/null
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 "$root/tools/check_torchvision_interop.py" write "$dir"
"$build/tools/resnet_interop" "$dir"
/usr/bin/python3 "$root/tools/check_torchvision_interop.py" verify "$dir"
