#!/bin/sh
# The compare program's smoke test (meson suite 'apps'), on a tiny
# protocol with the length study at 0.25 and 0.5 of 4 pretraining
# iterations (seconds, also under ASan):
#   1. it runs every run and writes results.md, results.json, chart.png,
#      losses.png and length_study.png, with finite scores for every arm, a
#      finite paired difference and a finite DenseCL/MoCo-v2 time ratio;
#      each pretraining saved its snapshots (backbone_iter1 and _iter2),
#      the study's runs are there, and results.md has its section, a row a
#      length (iterations 1, 2 and the whole 4);
#   2. the same command again skips every run and writes the same report;
#   3. runs whose results.json is gone but whose checkpoint is there (a
#      main run and one of the length study) are resumed, and the scores
#      come out the same;
#   4. other settings in the same directory are refused (--lengths none
#      too), and so are --ft-min-lr above --ft-lr and a length outside
#      (0, 1); --help shows each preset's lengths;
#   5. a run's results.json without its mIoU is refused, naming the file
#      and the key, with a non-zero exit status.
# usage: compare_smoke.sh COMPARE
set -eu
compare=$1
smoke=compare_smoke
. "$(dirname "$0")/../common/smoke_lib.sh"
out="$dir/out"

tiny="--preset quick --out $out --seeds 2 --threads 2 --size 32 --width 0.125 --pretrain-images 16 \
--pretrain-epochs 2 --pretrain-batch 8 --queue 16 --bn-groups 2 --train-images 8 --test-images 8 --ft-epochs 1 \
--probe-epochs 1 --ft-batch 4 --lengths 0.25,0.5"
runs=30 # 2 pretrainings + 3 arms x 2 evaluations x 2 seeds + the study's 2 lengths x 2 arms x 2 evaluations x 2 seeds
# The lines of results.json that start with the key $1 (the pretraining lines, which hold "images",
# left out), checked for numbers JSON cannot hold.
finite_line() {
    line=$(grep "^ *\"$1\":" "$out/results.json" | grep -v '"images"') || fail "results.json has no \"$1\" line"
    case $line in
        *null* | *nan* | *inf*) fail "results.json: $line" ;;
    esac
}
scores() {
    grep -E '^ *"(random|mocov2|densecl|densecl_minus_mocov2_miou|length_study)"' "$out/results.json" |
        grep -v '"images"'
}

# 1. the whole protocol
quiet $compare $tiny
for f in results.md results.json chart.png losses.png length_study.png compare.log settings.json; do
    [ -s "$out/$f" ] || fail "no $f"
done
for f in chart.png losses.png length_study.png; do
    head -c 4 "$out/$f" | grep -q PNG || fail "$f is not a PNG"
done
for key in random mocov2 densecl densecl_mocov2_time_per_step length_study; do finite_line $key; done
for arm in mocov2 densecl; do
    for n in 1 2; do [ -s "$out/pretrain_$arm/backbone_iter$n.safetensors" ] || fail "no $arm snapshot at $n"; done
    for run in ft probe; do
        for f in 0.25 0.5; do
            for k in 0 1; do
                [ -s "$out/${run}_${arm}_len${f}_seed$k/results.json" ] || fail "no ${run}_${arm}_len${f}_seed$k"
            done
        done
    done
done
grep -q '^## Length study' "$out/results.md" || fail "results.md has no length study"
for row in '1 | 0.25' '2 | 0.5' '4 | 1'; do
    grep -q "^| $row | [-+]0\.[0-9]* ± [0-9.]* | [-+]0\.[0-9]* ± [0-9.]* | [-+]0\.[0-9]*, [-+]0\.[0-9]* | " \
        "$out/results.md" || fail "no length study row '$row': $(grep -A6 '^## Length' "$out/results.md")"
done
grep -q '"densecl_minus_mocov2_miou":{"ft":{"per_seed":\[[-0-9.e]*,[-0-9.e]*\],"mean":[-0-9.e]*,"std":[0-9.e]*},' \
    "$out/results.json" || fail "no finite paired difference: $(grep densecl_minus "$out/results.json")"
grep -q '^| DenseCL | ' "$out/results.md" || fail "results.md has no DenseCL row"
grep -q 'time per iteration: \*\*[0-9]' "$out/results.md" || fail "results.md has no time ratio"
[ "$(grep -c ': done in' "$out/compare.log")" = $runs ] || fail "not $runs runs done: $(cat "$out/compare.log")"
echo "compare: $(grep 'time per iteration' "$out/results.md")"
sed -n '/^## Length study/,/length_study.png/p' "$out/results.md"

# 2. again: everything skipped, the same report
cp "$out/results.md" "$dir/results.md"
cp "$out/results.json" "$dir/results.json"
: > "$out/compare.log"
quiet $compare $tiny
[ "$(grep -c ': skipped' "$out/compare.log")" = $runs ] || fail "not every run skipped: $(cat "$out/compare.log")"
! grep -q 'starting\|resuming' "$out/compare.log" || fail "a run ran again: $(cat "$out/compare.log")"
cmp "$dir/results.md" "$out/results.md" || fail "another results.md"
cmp "$dir/results.json" "$out/results.json" || fail "another results.json"
echo "the same command again: every run skipped, the same report"

# 3. runs with their checkpoint but no results are resumed to the same scores
scores > "$dir/a.txt"
for run in ft_densecl_seed1 probe_mocov2_len0.5_seed0; do rm "$out/$run/results.json"; done
quiet $compare $tiny
for run in ft_densecl_seed1 probe_mocov2_len0.5_seed0; do
    grep -q "$run: resuming" "$out/compare.log" || fail "$run not resumed"
done
scores > "$dir/b.txt"
cmp "$dir/a.txt" "$dir/b.txt" || fail "other scores after the resume"
echo "runs left with their checkpoint (one of the length study): resumed, the same scores"

# 4. other settings are refused
for other in "--ft-epochs 2" "--lengths none"; do
    if $compare $tiny $other > "$dir/out.txt" 2>&1; then fail "$other in the same directory accepted"; fi
    grep -q 'other settings' "$dir/out.txt" || fail "$other refused without saying so: $(cat "$dir/out.txt")"
done
echo "other settings in the same directory (--lengths none too): refused"
status=0
$compare $tiny --ft-min-lr 0.5 > "$dir/out.txt" 2>&1 || status=$?
[ $status -eq 2 ] && grep -q -- '--ft-min-lr 0.5 is above --ft-lr 0.1' "$dir/out.txt" ||
    fail "--ft-min-lr above --ft-lr: exit status $status, $(cat "$dir/out.txt")"
echo "--ft-min-lr above --ft-lr: refused"
status=0
$compare $tiny --lengths 0.5,1 > "$dir/out.txt" 2>&1 || status=$?
[ $status -eq 2 ] && grep -q -- "--lengths: '1' is not a fraction between 0 and 1" "$dir/out.txt" ||
    fail "--lengths 0.5,1: exit status $status, $(cat "$dir/out.txt")"
echo "--lengths 0.5,1: refused"
$compare --help | grep -q -- '--lengths TEXT .*\[0.25,0.5\]$' || fail "--help does not show the full preset's lengths"
$compare --preset quick --help | grep -q -- '--lengths TEXT .*\[none\]$' || fail "--help does not show quick's lengths"

# 5. a results.json without a number the report needs
results="$out/ft_random_seed0/results.json"
sed 's/"miou":[^,]*,//' "$results" > "$dir/cut.json"
mv "$dir/cut.json" "$results"
! grep -q '"miou"' "$results" || fail "the test's edit left the mIoU in $results"
if $compare $tiny > "$dir/out.txt" 2>&1; then fail "a results.json without its mIoU accepted"; fi
grep -q "$results has no \"test.miou\"" "$dir/out.txt" ||
    fail "a results.json without its mIoU refused without naming it: $(cat "$dir/out.txt")"
echo "a results.json without its mIoU: refused"
