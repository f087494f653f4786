#!/bin/sh
# The pretrain program's smoke test (meson suite 'apps'), for both
# methods on a tiny ShapeScenes config:
#   1. the run ends with finite losses, the exported backbone and results;
#   2. the same run stopped after epoch 1, and again in the middle of an
#      epoch, then --resume'd (with other --workers), ends with the same
#      backbone, bit for bit, the same results.json apart from its timing
#      line, and the same log apart from times and rates;
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

for method in mocov2 densecl; do
    quiet $pretrain --method $method $tiny --out "$dir/$method"
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
        quiet $pretrain --method $method $tiny --out "$dir/split" $stop
        [ ! -e "$dir/split/results.json" ] || fail "$method $stop: the run did not stop"
        quiet $pretrain --method $method $tiny --out "$dir/split" --resume --workers 0
        cmp "$dir/$method/backbone.safetensors" "$dir/split/backbone.safetensors" ||
            fail "$method $stop, then --resume: another backbone"
        untimed_results "$dir/$method/results.json" > "$dir/a.txt"
        untimed_results "$dir/split/results.json" > "$dir/b.txt"
        cmp "$dir/a.txt" "$dir/b.txt" || fail "$method $stop, then --resume: other results"
        untimed "$dir/$method/log.jsonl" > "$dir/a.txt"
        untimed "$dir/split/log.jsonl" > "$dir/b.txt"
        cmp "$dir/a.txt" "$dir/b.txt" || fail "$method $stop, then --resume: another log"
        rm -r "$dir/split"
        echo "$method $stop, then --resume: the same backbone, results and log"
    done
done

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
