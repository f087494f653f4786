#!/bin/sh
# The segmentation programs' smoke test (meson suite 'apps'):
#   1. finetune_seg on a tiny ShapeScenes config runs to the end and scores
#      the test split with finite numbers;
#   2. the same run stopped after epoch 1, and again in the middle of an
#      epoch, then --resume'd (with other --workers), ends with the same
#      weights, bit for bit, and results.json (apart from its timing line)
#      as the uninterrupted one, and the same log apart from the times;
#   3. Ctrl-C (SIGINT) in the middle of a longer run saves the checkpoint
#      and exits 130, a second run into its directory meanwhile is refused
#      (the lock), and --resume ends with the weights of a run that was
#      never interrupted;
#   4. a rerun into a finished run's directory is refused, naming it and
#      both flags, and changes nothing; --overwrite starts it over and ends
#      with the same weights, and one stopped after its first checkpoint has
#      removed the old outputs; --min-lr above --lr is refused;
#   5. eval_seg on the saved weights gives the test scores finetune_seg gave.
# usage: seg_smoke.sh FINETUNE_SEG EVAL_SEG
set -eu
finetune=$1
eval_seg=$2
smoke=seg_smoke
. "$(dirname "$0")/../common/smoke_lib.sh"

tiny="--train-images 32 --test-images 16 --size 32 --width 0.125 --batch 8 --epochs 2 --threads 2 --log-every 2"
# The log without its times, which differ from run to run.
untimed() { sed 's/"time":[0-9.e+-]*//' "$1"; }
test_line() { grep '^"test"' "$1"; }

quiet $finetune $tiny --out "$dir/full"
miou=$(test_line "$dir/full/results.json" | sed 's/.*"miou":\([^,]*\),.*/\1/')
case $miou in
    null | *nan* | *inf* | "") fail "the test mIoU is '$miou'" ;;
esac
echo "tiny run: test mIoU $miou"

for stop in "--stop-after-epoch 1" "--stop-after-step 3"; do
    quiet $finetune $tiny --out "$dir/split" $stop
    [ ! -e "$dir/split/results.json" ] || fail "$stop: the run did not stop"
    quiet $finetune $tiny --out "$dir/split" --resume --workers 0
    cmp "$dir/full/fcn.safetensors" "$dir/split/fcn.safetensors" || fail "$stop, then --resume: other weights"
    untimed_results "$dir/full/results.json" > "$dir/a.txt"
    untimed_results "$dir/split/results.json" > "$dir/b.txt"
    cmp "$dir/a.txt" "$dir/b.txt" || fail "$stop, then --resume: other results"
    untimed "$dir/full/log.jsonl" > "$dir/a.txt"
    untimed "$dir/split/log.jsonl" > "$dir/b.txt"
    cmp "$dir/a.txt" "$dir/b.txt" || fail "$stop, then --resume: another log"
    rm -r "$dir/split"
    echo "$stop, then --resume: the same weights, results and log"
done

long="--train-images 32 --test-images 16 --size 32 --width 0.125 --batch 8 --epochs 20 --threads 2"
quiet $finetune $long --out "$dir/long"
$finetune $long --out "$dir/ctrl_c" > "$dir/ctrl_c.txt" 2>&1 &
pid=$!
for _ in $(seq 600); do # wait for the first log line (the handler is installed by then)
    [ -s "$dir/ctrl_c/log.jsonl" ] && break
    sleep 0.05
done
status=0
$finetune $long --out "$dir/ctrl_c" --resume > "$dir/second.txt" 2>&1 || status=$?
[ $status -ne 0 ] || fail "a second run into a directory in use was accepted"
grep -q "run directory $dir/ctrl_c is in use by another run (pid $pid)" "$dir/second.txt" ||
    fail "the second run was refused without saying why: $(cat "$dir/second.txt")"
echo "a second run into the same directory: refused"
kill -INT $pid
status=0
wait $pid || status=$?
[ $status -eq 130 ] || { cat "$dir/ctrl_c.txt"; fail "Ctrl-C: exit status $status, not 130"; }
grep -q '^interrupted: saved' "$dir/ctrl_c.txt" || fail "Ctrl-C: the run ended without saying it was interrupted"
[ ! -e "$dir/ctrl_c/results.json" ] || fail "Ctrl-C: the run did not stop"
quiet $finetune $long --out "$dir/ctrl_c" --resume
cmp "$dir/long/fcn.safetensors" "$dir/ctrl_c/fcn.safetensors" || fail "Ctrl-C, then --resume: other weights"
echo "Ctrl-C: exit 130, $(grep '^interrupted' "$dir/ctrl_c.txt"); --resume ends with the same weights"

cp "$dir/full/fcn.safetensors" "$dir/fcn_before"
cp "$dir/full/log.jsonl" "$dir/log_before"
status=0
$finetune $tiny --out "$dir/full" > "$dir/rerun.txt" 2>&1 || status=$?
[ $status -eq 1 ] || fail "a rerun into a finished run: exit status $status, not 1"
grep -q "run directory $dir/full already holds a run.*--resume.*--overwrite" "$dir/rerun.txt" ||
    fail "the rerun was refused without naming the directory and both flags: $(cat "$dir/rerun.txt")"
cmp "$dir/full/log.jsonl" "$dir/log_before" || fail "the refused rerun changed the log"
quiet $finetune $tiny --out "$dir/full" --overwrite
cmp "$dir/full/fcn.safetensors" "$dir/fcn_before" || fail "--overwrite: other weights"
untimed "$dir/full/log.jsonl" > "$dir/a.txt"
untimed "$dir/log_before" > "$dir/b.txt"
cmp "$dir/a.txt" "$dir/b.txt" || fail "--overwrite: another log"
echo "a rerun into a finished run: refused; --overwrite: the same weights and log"
cp -r "$dir/full" "$dir/over"
quiet $finetune $tiny --out "$dir/over" --overwrite --stop-after-step 1
[ ! -e "$dir/over/results.json" ] && [ ! -e "$dir/over/fcn.safetensors" ] ||
    fail "an overwrite stopped after its first checkpoint kept the old run's outputs"
echo "an overwrite stopped after its first checkpoint: the old run's outputs are gone"
status=0
$finetune $tiny --out "$dir/lr" --lr 0.01 --min-lr 0.1 > "$dir/lr.txt" 2>&1 || status=$?
[ $status -eq 2 ] && grep -q -- "--min-lr 0.1 is above --lr 0.01" "$dir/lr.txt" ||
    fail "--min-lr above --lr: exit status $status, $(cat "$dir/lr.txt")"
[ ! -e "$dir/lr" ] || fail "--min-lr above --lr: the run directory was made"
echo "--min-lr above --lr: refused"

quiet $eval_seg --test-images 16 --size 32 --width 0.125 --threads 2 --overlays 2 \
    --weights "$dir/full/fcn.safetensors" --out "$dir/eval"
[ "$(test_line "$dir/full/results.json")" = "$(test_line "$dir/eval/results.json")" ] ||
    fail "eval_seg scores the weights otherwise: $(test_line "$dir/eval/results.json")"
[ -s "$dir/eval/overlay_00001.png" ] || fail "no overlay"
echo "eval_seg: the same test scores"
