#!/bin/sh
# The pretrain program's smoke test (meson suite 'apps'), for both
# methods on a tiny ShapeScenes config:
#   1. the run ends with finite losses, the exported backbone and results;
#   2. the same run stopped after epoch 1, and again in the middle of an
#      epoch, then --resume'd (with other --workers), ends with the same
#      backbone, bit for bit, the same results.json apart from its timing
#      line, and the same log apart from times and rates; DenseCL runs with
#      --snapshots 0.25,0.5 (8 steps: backbone_iter2 and backbone_iter4),
#      and each stopped run ends with the same snapshots, bit for bit;
#   2b. --snapshots leave the final backbone and the log as they were; a
#      run stopped before its first snapshot, resumed and stopped at it,
#      that snapshot then lost (as by a kill between its checkpoint and its
#      file) and resumed again ends with the same snapshots; an --overwrite
#      with other snapshots removes the old run's at its first checkpoint;
#      a fraction outside (0, 1) is a bad flag (exit 2), two on one
#      iteration are refused;
#   3. finetune_seg trains an epoch from the DenseCL backbone;
#   4. a one-step run says it timed no step (no "nan s a step"), and its
#      results.json holds null for the step time;
#   5. a folder holding a JPEG cut short is refused, naming the file, unless
#      --tolerate-corrupt-images.
# usage: pretrain_smoke.sh PRETRAIN FINETUNE_SEG SHAPESCENES_EXPORT
set -eu
pretrain=$1
finetune=$2
export_scenes=$3
smoke=pretrain_smoke
. "$(dirname "$0")/../common/smoke_lib.sh"

tiny="--images 32 --size 32 --width 0.125 --batch 8 --queue 16 --bn-groups 2 --epochs 2 --threads 2 --log-every 2"
# The log without its times and rates, which differ from run to run.
untimed() { sed 's/"img_s":[0-9.e+-]*//; s/"time":[0-9.e+-]*//' "$1"; }
number() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$1"; }
finite() {
    case $2 in
        null | *nan* | *inf* | "") fail "$1 is '$2'" ;;
    esac
}

snapshots="backbone_iter2.safetensors backbone_iter4.safetensors"
# The snapshots of run $1 are those of run $2, bit for bit.
same_snapshots() {
    for f in $snapshots; do cmp "$dir/$2/$f" "$dir/$1/$f" || fail "$1: another $f than $2's"; done
}

for method in mocov2 densecl; do
    [ $method = mocov2 ] && snap="" || snap="--snapshots 0.25,0.5"
    quiet $pretrain --method $method $tiny $snap --out "$dir/$method"
    [ -s "$dir/$method/backbone.safetensors" ] || fail "$method: no backbone.safetensors"
    last=$(grep '^"last_epoch"' "$dir/$method/results.json")
    echo "$last" > "$dir/last.txt"
    for key in loss loss_global top1_global; do finite "$method $key" "$(number "$dir/last.txt" $key)"; done
    [ $method = mocov2 ] || for key in loss_dense top1_dense match_exact match_near; do
        finite "$method $key" "$(number "$dir/last.txt" $key)"
    done
    [ "$(grep -c '"kind":"epoch"' "$dir/$method/log.jsonl")" = 2 ] || fail "$method: not 2 epoch lines in the log"
    echo "$method: $last"

    for stop in "--stop-after-epoch 1" "--stop-after-step 3"; do
        quiet $pretrain --method $method $tiny $snap --out "$dir/split" $stop
        [ ! -e "$dir/split/results.json" ] || fail "$method $stop: the run did not stop"
        quiet $pretrain --method $method $tiny $snap --out "$dir/split" --resume --workers 0
        [ -z "$snap" ] || same_snapshots split $method
        cmp "$dir/$method/backbone.safetensors" "$dir/split/backbone.safetensors" ||
            fail "$method $stop, then --resume: another backbone"
        untimed_results "$dir/$method/results.json" > "$dir/a.txt"
        untimed_results "$dir/split/results.json" > "$dir/b.txt"
        cmp "$dir/a.txt" "$dir/b.txt" || fail "$method $stop, then --resume: other results"
        untimed "$dir/$method/log.jsonl" > "$dir/a.txt"
        untimed "$dir/split/log.jsonl" > "$dir/b.txt"
        cmp "$dir/a.txt" "$dir/b.txt" || fail "$method $stop, then --resume: another log"
        rm -r "$dir/split"
        echo "$method $stop, then --resume: the same backbone${snap:+, snapshots}, results and log"
    done
done

ls "$dir/densecl"/backbone_iter* > "$dir/a.txt"
[ "$(wc -l < "$dir/a.txt")" = 2 ] || fail "not 2 snapshots: $(cat "$dir/a.txt")"
quiet $pretrain --method mocov2 $tiny --out "$dir/mocov2_again" --snapshots 0.25,0.5
cmp "$dir/mocov2/backbone.safetensors" "$dir/mocov2_again/backbone.safetensors" ||
    fail "--snapshots changed the final backbone"
untimed "$dir/mocov2/log.jsonl" > "$dir/a.txt"
untimed "$dir/mocov2_again/log.jsonl" > "$dir/b.txt"
cmp "$dir/a.txt" "$dir/b.txt" || fail "--snapshots changed the log"
echo "--snapshots 0.25,0.5: $snapshots, the final backbone and log as without"

dense="--method densecl $tiny --snapshots 0.25,0.5 --out $dir/lost"
quiet $pretrain $dense --stop-after-step 1
[ -z "$(ls "$dir/lost" | grep backbone)" ] || fail "a snapshot before its iteration: $(ls "$dir/lost")"
quiet $pretrain $dense --resume --stop-after-step 2
[ -e "$dir/lost/backbone_iter2.safetensors" ] || fail "a run stopped at its snapshot's iteration left no snapshot"
rm "$dir/lost/backbone_iter2.safetensors"
quiet $pretrain $dense --resume
same_snapshots lost densecl
echo "stopped before a snapshot, then at it, the snapshot lost: --resume writes the same snapshots"
quiet $pretrain $dense --overwrite --snapshots 0.75 --stop-after-step 1
left=$(ls "$dir/lost")
[ "$left" = "$(printf 'checkpoint.safetensors\nlog.jsonl\nrun.lock')" ] ||
    fail "an overwrite left the old run's outputs after its first checkpoint: $left"
echo "an --overwrite with other snapshots: the old snapshots gone at its first checkpoint"
status=0
$pretrain $dense --snapshots 0.25,1.5 > "$dir/out.txt" 2>&1 || status=$?
[ $status = 2 ] && grep -q "^pretrain: --snapshots: '1.5' is not a fraction between 0 and 1" "$dir/out.txt" ||
    fail "--snapshots 0.25,1.5: exit status $status, $(cat "$dir/out.txt")"
status=0
$pretrain $dense --snapshots 0.25,0.26 --overwrite > "$dir/out.txt" 2>&1 || status=$?
[ $status = 1 ] && grep -q "fractions 0.25 and 0.26 of 8 iterations both fall on iteration 2" "$dir/out.txt" ||
    fail "--snapshots 0.25,0.26 of 8 iterations: exit status $status, $(cat "$dir/out.txt")"
echo "--snapshots outside (0, 1), or two on one iteration: refused"

quiet $finetune --train-images 16 --test-images 8 --size 32 --width 0.125 --batch 8 --epochs 1 --threads 2 \
    --backbone "$dir/densecl/backbone.safetensors" --out "$dir/fcn"
miou=$(number "$dir/fcn/results.json" miou | head -n 1)
finite "finetune_seg's test mIoU" "$miou"
echo "finetune_seg from the DenseCL backbone: test mIoU $miou"

$pretrain --method mocov2 --images 8 --size 32 --width 0.125 --batch 8 --queue 16 --bn-groups 2 --epochs 1 \
    --threads 2 --out "$dir/one_step" > "$dir/one_step.txt" 2>&1 || { cat "$dir/one_step.txt"; fail "a one-step run failed"; }
grep -q '^pretrained 1 steps in .* (no step timed' "$dir/one_step.txt" ||
    fail "a one-step run's speed: $(grep '^pretrained' "$dir/one_step.txt")"
[ "$(number "$dir/one_step/results.json" seconds_per_step)" = null ] || fail "a one-step run's step time is not null"
echo "a one-step run: $(grep '^pretrained' "$dir/one_step.txt")"

quiet $export_scenes --out "$dir/photos" --split pretrain --count 8 --size 32 --jpeg
cut_short=$(find "$dir/photos/JPEGImages" -name '*.jpg' | sort | head -n 1)
truncate -s -64 "$cut_short"
one_epoch="--images 8 --size 32 --width 0.125 --batch 8 --queue 16 --bn-groups 2 --epochs 1 --threads 2"
if $pretrain $one_epoch --folder "$dir/photos" --out "$dir/corrupt" > "$dir/corrupt.txt" 2>&1; then
    fail "a folder with a JPEG cut short was pretrained on"
fi
grep -q "$cut_short.*truncated" "$dir/corrupt.txt" || fail "the refusal does not name the file: $(cat "$dir/corrupt.txt")"
quiet $pretrain $one_epoch --folder "$dir/photos" --out "$dir/tolerant" --tolerate-corrupt-images
grep -q '"tolerate_corrupt_images":true' "$dir/tolerant/results.json" || fail "the config does not say tolerant"
echo "a JPEG cut short: refused by default, decoded with --tolerate-corrupt-images"
