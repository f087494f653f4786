#!/usr/bin/env bash
# Builds the libFuzzer harnesses (ASan + UBSan, clang), writes their seed
# corpora and runs each target for a time budget, one after another.
#   fuzz/run.sh SECONDS [TARGET...]
# Targets: image safetensors checkpoint config results dataset (default: all).
# e.g. fuzz/run.sh 15 (what CI runs), fuzz/run.sh 600 (a long campaign).
# Build dir: build-fuzz (set up on the first run; FUZZ_BUILD names another).
# Each target keeps its growing corpus in BUILD/fuzz-out/TARGET/corpus and
# anything it finds (crash-*, leak-*, timeout-*, oom-*) in
# BUILD/fuzz-out/TARGET/ with its log; replay one with
#   BUILD/fuzz/fuzz_TARGET FILE
# Prints one summary line a target; exits 1 if any target found something.
# See docs/fuzzing.md.
. "$(dirname "$0")/../tools/script_help.sh"
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(image safetensors checkpoint config results dataset)
[ $# -ge 1 ] && [[ $1 =~ ^[0-9]+$ ]] || { echo "usage: $0 SECONDS [TARGET...]" >&2; exit 2; }
seconds=$1
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz: unknown target '$t' (${all_targets[*]})" >&2; exit 2; }
done

build=${FUZZ_BUILD:-build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Dfuzz=true -Dbuildtype=debug -Db_sanitize=address,undefined \
        -Db_lundef=false -Dtests=false -Dexamples=false -Dbench=false -Dapps=false
fi
ninja -C "$build" ${FUZZ_JOBS:+-j "$FUZZ_JOBS"}

# Seeds are made fresh by the library's writers each time (never committed).
rm -rf "$build/fuzz-seeds"
"$build/fuzz/make_seeds" "$build/fuzz-seeds"

# Leaks and undefined behaviour are findings; one thread (libFuzzer runs
# inputs one at a time, and OpenMP's pool would only add noise).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
# The harnesses' files, in memory where possible, gone at the end even
# after a crash.
shm=/dev/shm
[ -d "$shm" ] || shm=${TMPDIR:-/tmp}
FUZZ_TMPDIR=$(mktemp -d "$shm/tg_fuzz_run.XXXXXX")
export FUZZ_TMPDIR
trap 'rm -rf "$FUZZ_TMPDIR"' EXIT

# The extra seed folders and the dictionary of a target.
seed_dirs() {
    case $1 in
        safetensors) echo "$build/fuzz-seeds/safetensors $build/fuzz-seeds/checkpoint" ;;
        *) echo "$build/fuzz-seeds/$1" ;;
    esac
}
dictionary() {
    case $1 in
        image) echo fuzz/image.dict ;;
        *) echo fuzz/json.dict ;;
    esac
}

failed=0
summary=()
for t in "${targets[@]}"; do
    out=$build/fuzz-out/$t
    mkdir -p "$out/corpus"
    log=$out/log.txt
    flags=(-max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10
           -print_final_stats=1 -artifact_prefix="$out/" -dict="$(dictionary "$t")")
    # json_read_file says on stderr why each bad input is not JSON.
    if [ "$t" = results ]; then flags+=(-close_fd_mask=2); fi
    printf '\n==== fuzz %s: %s s ====\n' "$t" "$seconds"
    touch "$out/started"
    status=0
    # shellcheck disable=SC2046 # the seed folders are separate arguments
    "$build/fuzz/fuzz_$t" "${flags[@]}" "$out/corpus" $(seed_dirs "$t") >"$log" 2>&1 || status=$?
    tail -n 3 "$log"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$( (grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" || true) | tail -n 1 | awk '{print "cov " $2 ", ft " $4}')
    found=$(find "$out" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
        -o -name 'oom-*' \) -newer "$out/started" | sort)
    line="fuzz $t: ${runs:-?} runs, ${cov:-no coverage line}, corpus $(find "$out/corpus" -type f | wc -l)"
    if [ $status -ne 0 ] || [ -n "$found" ]; then
        failed=1
        line+=", FOUND (exit $status): ${found:-see $log} (replay: $build/fuzz/fuzz_$t FILE)"
    else
        line+=", no crash"
    fi
    summary+=("$line")
done

printf '\n'
printf '%s\n' "${summary[@]}"
exit $failed
