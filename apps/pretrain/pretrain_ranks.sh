#!/bin/sh
# Data-parallel pretraining under mpirun (meson suite 'apps'), on a tiny
# ShapeScenes config of 10 steps (80 images, global batch 16, 4 BN groups):
#   1. 2 and 4 ranks train as one process with the same global batch
#      does, for both methods: every step's losses and top-1s within 1e-5
#      relative, and the model after the last step (both encoders, the
#      queues, the running statistics) within 1e-5 in the relative L2
#      norm. The learning rate is 0.001: the ranks sum their gradients in
#      another order than one process does (differences of 1e-7), and at
#      higher rates this tiny model amplifies them (measured: 2.5e-4 after
#      10 steps at 0.01, 1e-2 at 0.06), as it does any rounding;
#   2. the same number of ranks twice: the same checkpoint, bit for bit,
#      and the same log apart from times and rates;
#   3. a run of 2 ranks stopped after step 4 and resumed with 4 ends where
#      the run of 2 that never stopped does (within 1e-5);
#   4. settings that cannot work are refused on every rank, with one
#      message, a non-zero exit and no hang: a global batch that does not
#      split across the ranks, a queue that is not a multiple of the global
#      batch, ranks whose settings differ (mpirun's MPMD form);
#   5. a rank killed (kill -9) mid-run ends the job within 60 s, with the
#      last checkpoint intact: resumed, the run finishes.
# usage: pretrain_ranks.sh PRETRAIN SAME_TENSORS MPIRUN (OMPI_ALLOW_RUN_AS_ROOT
# and its confirm variable set where the test runs as root)
set -eu
pretrain=$1
same_tensors=$2
mpirun="$3 --oversubscribe"
smoke=pretrain_ranks
. "$(dirname "$0")/../common/smoke_lib.sh"

tiny="--images 80 --size 32 --width 0.125 --batch 16 --queue 64 --bn-groups 4 --epochs 2 --threads 1 --log-every 1
      --lr 0.001"
untimed() { sed 's/"img_s":[0-9.e+-]*//; s/"time":[0-9.e+-]*//' "$1"; }

# Model of checkpoint $1 within $3 of $2's.
same_model() { quiet "$same_tensors" "$1/checkpoint.safetensors" "$2/checkpoint.safetensors" "$3" model.; }

# 1. 2 and 4 ranks against one process.
for method in mocov2 densecl; do
    quiet "$pretrain" --method $method $tiny --out "$dir/$method-1"
    for n in 2 4; do
        quiet $mpirun -np $n "$pretrain" --method $method $tiny --out "$dir/$method-$n"
        same_steps "$dir/$method-$n/log.jsonl" "$dir/$method-1/log.jsonl" 10 \
            loss loss_global loss_dense top1_global top1_dense
        same_model "$dir/$method-$n" "$dir/$method-1" 1e-5
        echo "$method, $n ranks: $(cat "$dir/out.txt" | tail -n 1)"
    done
done

# 2. The same ranks twice, bit for bit.
quiet $mpirun -np 2 "$pretrain" --method densecl $tiny --out "$dir/again"
quiet "$same_tensors" "$dir/again/checkpoint.safetensors" "$dir/densecl-2/checkpoint.safetensors" 0
untimed "$dir/again/log.jsonl" > "$dir/again.txt"
untimed "$dir/densecl-2/log.jsonl" | cmp -s - "$dir/again.txt" || fail "2 ranks twice: other logs"

# 3. Stopped with 2 ranks, resumed with 4.
quiet $mpirun -np 2 "$pretrain" --method densecl $tiny --out "$dir/resumed" --stop-after-step 4
quiet $mpirun -np 4 "$pretrain" --method densecl $tiny --out "$dir/resumed" --resume
same_model "$dir/resumed" "$dir/densecl-2" 1e-5

# 4. Settings that cannot work: one message, a non-zero exit, no hang.
# refused WANT MPIRUN-ARGS...: the job fails within 60 s, saying WANT once.
refused() {
    want=$1
    shift
    if timeout 60 $mpirun "$@" > "$dir/refused.txt" 2>&1; then fail "not refused: $*"; fi
    [ "$(grep -cF -- "$want" "$dir/refused.txt")" = 1 ] || { cat "$dir/refused.txt"; fail "not said once: $want"; }
}
refused "--batch 18 (the global batch) does not split across 4 ranks" \
    -np 4 "$pretrain" $tiny --batch 18 --out "$dir/bad"
refused "--queue 40 is not a multiple of the global batch --batch 16" \
    -np 2 "$pretrain" $tiny --queue 40 --out "$dir/bad"
refused "the config differs between ranks: rank 1's is not rank 0's" \
    -np 1 "$pretrain" $tiny --seed 1 --out "$dir/bad" : -np 1 "$pretrain" $tiny --seed 2 --out "$dir/bad"

# 5. A rank killed with kill -9 after the first checkpoint (step 5 of 400).
long="--images 80 --size 32 --width 0.125 --batch 16 --queue 64 --bn-groups 4 --epochs 80 --threads 1 --lr 0.001"
$mpirun -np 2 "$pretrain" $long --out "$dir/kill" > "$dir/kill.txt" 2>&1 &
job=$!
for i in $(seq 600); do [ -s "$dir/kill/checkpoint.safetensors" ] && break; sleep 0.1; done
[ -s "$dir/kill/checkpoint.safetensors" ] || fail "no checkpoint within 60 s"
rank=$(pgrep -P $job -f pretrain | tail -n 1)
[ -n "$rank" ] || fail "no rank of the job found"
kill -9 "$rank"
start=$(date +%s)
if wait $job; then fail "the job succeeded with a rank killed"; fi
took=$(($(date +%s) - start))
[ $took -le 60 ] || fail "the job took $took s to end after a rank was killed"
quiet "$same_tensors" "$dir/kill/checkpoint.safetensors" "$dir/kill/checkpoint.safetensors" 0
quiet $mpirun -np 2 "$pretrain" $long --out "$dir/kill" --resume --stop-after-step 10
echo "killed rank $rank: the job ended in $took s; resumed from the last checkpoint"
