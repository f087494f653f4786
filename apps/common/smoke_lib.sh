# What the programs' smoke tests share; each sets `smoke` to its
# name, then sources this file (. "$(dirname "$0")/../common/smoke_lib.sh"):
#   $dir                 a temporary directory, removed when the test exits
#   quiet CMD...         runs CMD, showing its output only if it fails
#   fail MESSAGE         says what is wrong and exits 1
#   untimed_results F    results.json F without its timing line
#   same_steps A B N KEY...  the step lines of logs A and B: N of them, each
#                        KEY within 1e-5 relative of B's (the data-parallel tests)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
quiet() { "$@" > "$dir/out.txt" 2>&1 || { cat "$dir/out.txt"; echo "$smoke: failed: $*"; exit 1; }; }
fail() { echo "$smoke: $*"; exit 1; }
untimed_results() { grep -v '^"timing"' "$1"; }
same_steps() {
    a_log=$1 b_log=$2 steps=$3
    shift 3
    for key in "$@"; do
        a=$(sed -n "s/.*\"kind\":\"step\".*\"$key\":\([^,}]*\).*/\1/p" "$a_log")
        b=$(sed -n "s/.*\"kind\":\"step\".*\"$key\":\([^,}]*\).*/\1/p" "$b_log")
        [ -n "$a" ] && [ "$(echo "$a" | wc -l)" = "$steps" ] || fail "$a_log: not $steps steps of $key"
        printf '%s\n' "$a" > "$dir/steps_a.txt"
        printf '%s\n' "$b" | paste "$dir/steps_a.txt" - | awk -v what="$a_log $key" '{
            d = $1 - $2; if (d < 0) d = -d; s = $2 < 0 ? -$2 : $2
            if (d > 1e-5 * s + 1e-12) { print what ", step " NR ": " $1 " against " $2; bad = 1 } }
            END { exit bad }' || fail "$a_log: $key differs from one process's"
    done
}
