#!/bin/sh
# Data-parallel fine-tuning and evaluation under mpirun (meson suite
# 'apps'), on a tiny ShapeScenes config of 10 steps (80 training images,
# global batch 8; SyncBN, as mmseg's config uses):
#   1. 2 and 4 ranks fine-tune as one process with the same global batch
#      does, the FCN and the frozen-backbone probe: every step's loss and
#      accuracy within 1e-5 relative, the weights after the last step
#      within 1e-5 (relative L2 norm), the test scores (each rank scores
#      its share of the test split, the counts summed) equal to 4 digits;
#      the learning rate is 0.001, as in pretrain_ranks.sh; 2 ranks twice
#      give the same weights, bit for bit;
#   2. eval_seg with 2 ranks scores the one-process weights as one process
#      does, exactly;
#   3. a global batch that does not split across the ranks is refused with
#      one message, a non-zero exit and no hang.
# usage: seg_ranks.sh FINETUNE_SEG EVAL_SEG SAME_TENSORS MPIRUN
set -eu
finetune=$1
eval_seg=$2
same_tensors=$3
mpirun="$4 --oversubscribe"
smoke=seg_ranks
. "$(dirname "$0")/../common/smoke_lib.sh"

tiny="--train-images 80 --test-images 16 --size 32 --width 0.125 --batch 8 --epochs 1 --threads 1 --log-every 1
      --lr 0.001"

# The test mIoU of results $1 and $2, to 4 digits.
same_scores() {
    a=$(grep -o '"miou":[^,}]*' "$1" | head -n 1 | cut -d: -f2)
    b=$(grep -o '"miou":[^,}]*' "$2" | head -n 1 | cut -d: -f2)
    [ -n "$a" ] && [ "$(printf '%.4f' "$a")" = "$(printf '%.4f' "$b")" ] || fail "$1: test mIoU $a against $b"
}

# 1. 2 and 4 ranks against one process, the FCN and the probe.
for kind in fcn probe; do
    [ $kind = probe ] && frozen="--frozen" || frozen=""
    quiet "$finetune" $tiny $frozen --out "$dir/$kind-1"
    for n in 2 4; do
        quiet $mpirun -np $n "$finetune" $tiny $frozen --out "$dir/$kind-$n"
        same_steps "$dir/$kind-$n/log.jsonl" "$dir/$kind-1/log.jsonl" 10 loss acc
        quiet "$same_tensors" "$dir/$kind-$n/fcn.safetensors" "$dir/$kind-1/fcn.safetensors" 1e-5
        echo "$kind, $n ranks: $(tail -n 1 "$dir/out.txt")"
        same_scores "$dir/$kind-$n/results.json" "$dir/$kind-1/results.json"
    done
done

# The same ranks twice, bit for bit.
quiet $mpirun -np 2 "$finetune" $tiny --out "$dir/again"
cmp -s "$dir/again/fcn.safetensors" "$dir/fcn-2/fcn.safetensors" || fail "2 ranks twice: other weights"

# 2. eval_seg with 2 ranks scores as one process does.
eval_flags="--test-images 16 --size 32 --width 0.125 --threads 1 --weights $dir/fcn-1/fcn.safetensors --overlays 0"
quiet "$eval_seg" $eval_flags --out "$dir/eval-1"
quiet $mpirun -np 2 "$eval_seg" $eval_flags --out "$dir/eval-2"
cmp -s "$dir/eval-1/results.json" "$dir/eval-2/results.json" || fail "eval_seg: 2 ranks score otherwise"

# 3. A global batch that does not split across the ranks.
if timeout 60 $mpirun -np 4 "$finetune" $tiny --batch 6 --out "$dir/bad" > "$dir/bad.txt" 2>&1; then
    fail "--batch 6 with 4 ranks was not refused"
fi
want="--batch 6 (the global batch) does not split across 4 ranks"
[ "$(grep -cF -- "$want" "$dir/bad.txt")" = 1 ] || { cat "$dir/bad.txt"; fail "not said once: $want"; }
