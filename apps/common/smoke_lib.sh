# What the programs' smoke tests share; each sets `smoke` to its
# name, then sources this file (. "$(dirname "$0")/../common/smoke_lib.sh"):
#   $dir                 a temporary directory, removed when the test exits
#   quiet CMD...         runs CMD, showing its output only if it fails
#   fail MESSAGE         says what is wrong and exits 1
#   untimed_results F    results.json F without its timing line
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
quiet() { "$@" > "$dir/out.txt" 2>&1 || { cat "$dir/out.txt"; echo "$smoke: failed: $*"; exit 1; }; }
fail() { echo "$smoke: $*"; exit 1; }
untimed_results() { grep -v '^"timing"' "$1"; }
