#!/bin/sh
# The compare program under mpirun -np 2 (meson suite 'apps'): a tiny
# protocol with the length study runs to its report (every run's results,
# the charts, one log, written by rank 0), and the same command again
# skips every run.
# usage: compare_ranks.sh COMPARE MPIRUN
set -eu
compare=$1
mpirun="$2 --oversubscribe"
smoke=compare_ranks
. "$(dirname "$0")/../common/smoke_lib.sh"

out=$dir/cmp
tiny="--preset quick --out $out --seeds 1 --threads 1 --size 32 --width 0.125 --pretrain-images 32 \
--pretrain-epochs 2 --pretrain-batch 8 --queue 16 --bn-groups 2 --train-images 16 --test-images 8 --ft-epochs 1 \
--probe-epochs 1 --ft-batch 4 --lengths 0.5"
quiet $mpirun -np 2 "$compare" $tiny
for f in results.md results.json chart.png losses.png length_study.png compare.log settings.json; do
    [ -s "$out/$f" ] || fail "no $f"
done
for run in ft_random_seed0 probe_random_seed0 ft_mocov2_seed0 probe_densecl_seed0 ft_densecl_len0.5_seed0; do
    [ -s "$out/$run/results.json" ] || fail "no $run/results.json"
done
grep -q '^| DenseCL |' "$out/results.md" || fail "results.md has no DenseCL row"
quiet $mpirun -np 2 "$compare" $tiny
! grep -q ': done in' "$dir/out.txt" && grep -q 'skipped (results.json exists)' "$dir/out.txt" ||
    { cat "$dir/out.txt"; fail "the second run redid runs"; }
echo "compare under 2 ranks: $(grep -c . "$out/compare.log") log lines"
