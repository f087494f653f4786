#!/bin/sh
# The preset's DenseCL pretraining (ResNet-18 at width 0.25, 64 px views,
# global batch 256 in 8 BN groups, K 4096) run data-parallel on this
# machine: 2 ranks of 1 thread each (mpirun -np 2, over shared memory, and
# over TCP with --mca btl tcp,self) against 1 rank of 2 threads. Prints one
# Markdown table: images a second over steps 21 to --steps (from the log;
# 2560 images, so the ShapeScenes cache of 1 rank is warm by then, and a
# rank of 2 still renders the images it has not seen), the ratio to 1 rank
# x 2 threads, and for the ranks the backward's seconds a step and the
# seconds it waits for the gradients after it (the communication the
# backward did not hide). Each configuration runs as separate processes,
# the three alternating, --reps times; the table holds medians. Then the
# collectives alone (bench_collectives, the median of 20): the gradients'
# allreduce, and the allgathers of the key images and key C5 maps, over
# shared memory and TCP. Progress goes to stderr.
#
# usage: bench/run_ranks.sh [BUILD_DIR] [--reps 3] [--steps 40]
set -eu
. "$(dirname "$0")/build_dir.sh"
reps=3
steps=40
while [ $# -gt 0 ]; do
    case $1 in
        --reps) reps=$2; shift 2 ;;
        --steps) steps=$2; shift 2 ;;
        *) echo "usage: bench/run_ranks.sh [BUILD_DIR] [--reps 3] [--steps 40]" >&2; exit 2 ;;
    esac
done
ninja -C "$build" apps/pretrain bench/bench_collectives >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mpirun="mpirun --oversubscribe"
[ "$(id -u)" = 0 ] && mpirun="$mpirun --allow-run-as-root"
preset="--method densecl --images 2560 --stop-after-step $steps --log-every 10 --workers 1"

# images a second over the log's step lines after step 20 (harmonic mean)
rate() {
    sed -n 's/.*"step":\([0-9]*\),"kind":"step".*"img_s":\([0-9.e+-]*\).*/\1 \2/p' "$1" |
        awk '$1 > 20 { n++; s += 1 / $2 } END { if (n) printf "%.1f\n", n / s; else print "nan" }'
}
# backward and waiting seconds a step, from rank 0's "data parallel:" line
comm() { sed -n 's/.*backward \([0-9.]*\) s a step, then \([0-9.]*\) s waiting.*/\1 \2/p' "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "# $(uptime)" >&2
for rep in $(seq "$reps"); do
    for config in one shm tcp; do
        out=$work/$config-$rep
        case $config in
            one) "$build/apps/pretrain" $preset --threads 2 --out "$out" > "$out.txt" 2>&1 ;;
            shm) $mpirun -np 2 "$build/apps/pretrain" $preset --threads 1 --out "$out" > "$out.txt" 2>&1 ;;
            tcp) $mpirun -np 2 --mca btl tcp,self "$build/apps/pretrain" $preset --threads 1 --out "$out" \
                     > "$out.txt" 2>&1 ;;
        esac
        echo "$config, repetition $rep: $(rate "$out/log.jsonl") img/s $(comm "$out.txt")" >&2
        rate "$out/log.jsonl" >> "$work/$config.rate"
        comm "$out.txt" | awk '{ print $1 >> "'"$work/$config.backward"'"; print $2 >> "'"$work/$config.wait"'" }'
    done
done
echo "# $(uptime)" >&2

one=$(median < "$work/one.rate")
echo "| configuration | img/s | ratio to 1 rank x 2 threads | backward s/step | waiting for gradients s/step |"
echo "| --- | --- | --- | --- | --- |"
echo "| 1 rank x 2 threads | $one | 1.00 | | |"
for config in shm tcp; do
    r=$(median < "$work/$config.rate")
    ratio=$(echo "$r $one" | awk '{ print $1 / $2 }')
    printf '| 2 ranks x 1 thread, %s | %s | %.2f | %s | %s |\n' "$config" "$r" "$ratio" \
        "$(median < "$work/$config.backward")" "$(median < "$work/$config.wait")"
done

# The step's collectives alone: gradients (the preset's 3.06 MB), key
# images (128 x 3 x 64 x 64 floats a rank) and key C5 maps (128 x 128 x 8 x 8).
for btl in "" "--mca btl tcp,self"; do
    for mb in 6.29 4.19; do
        $mpirun -np 2 $btl "$build/bench/bench_collectives" --allreduce-mb 3.06 --allgather-mb $mb |
            sed "s/^/${btl:-shared memory}: /"
    done
done
