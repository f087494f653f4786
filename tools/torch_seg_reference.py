"""PyTorch reference for apps/finetune (finetune_seg)'s FCN protocol (issue 5).

What it is for: telling whether "FCN from random init learns almost nothing
on ShapeScenes" is a property of the protocol at this scale or a tensorgrad
bug. It runs the same experiment in plain PyTorch on CPU: a ResNet-18 at
width 0.25 (channels 16-32-64-128) with the small stem (3x3 conv stride 1 +
BN + ReLU, no max-pool; C5 is 8x8 at 64 px), mmseg's FCNHead on C5 (two
3x3 ConvModules of C5/4 channels, concat_input, Dropout2d 0.1, 1x1
classifier N(0, 0.01)) and an auxiliary FCNHead on C4 (one conv, C4/4
channels, weight 0.4), bilinear upsampling (align_corners False),
cross-entropy with ignore 255 averaged over all pixels (mmseg 0.x), SGD
momentum 0.9, weight decay 5e-4 on every parameter, poly lr per step
(power 0.9, min 1e-4), batch 32 (drop last), kaiming fan_out init; then the
test split's confusion matrix (9 classes, background included): mIoU and
pixel accuracy. The training augmentation is a plain numpy/PIL version of
mmseg's pipeline scaled to 64 px: Resize((256, 64), ratio 0.5-2.0,
keep_ratio), RandomCrop(64, cat_max_ratio 0.75), RandomFlip(0.5),
PhotoMetricDistortion (hue and saturation in PIL's HSV), Normalize (mmseg
mean/std), Pad (image 0, mask 255); --no-aug trains on the plain
normalised 64 px images instead.

The data are ShapeScenes exported as PASCAL VOC PNGs by
tg_shapescenes_export (data/shapescenes.h): root/JPEGImages/<id>.png,
root/SegmentationClass/<id>.png (indexed), root/ImageSets/Segmentation/
{train,test}.txt; train 500 and test 300 images of seed 0:
    build/apps/shapescenes_export --out /tmp/torchref/voc --split train --count 500
    build/apps/shapescenes_export --out /tmp/torchref/voc --split test --count 300

Measured 2026-11-26 (seed 0, one run each; tensorgrad: finetune_seg with
the same settings, --test-images 300), test mIoU / pixel accuracy:
    lr 0.01, 600 steps:    tensorgrad 0.0759 / 0.6834   PyTorch 0.0759 / 0.6834
    lr 0.1, 600 steps:     tensorgrad 0.1531 / 0.7093   PyTorch 0.1457 / 0.7095
    lr 0.01, 2400 steps:   tensorgrad 0.0962 / 0.6893   PyTorch 0.1042 / 0.6918
    lr 0.01, no augment.:  (no flag in tensorgrad)      PyTorch 0.0807 / 0.6845
Both predict background almost everywhere at the issue's lr 0.01 for 600
steps: a property of the protocol at this scale, not a tensorgrad bug.

Run (CPU, 2 threads):
    /usr/bin/python3 tools/torch_seg_reference.py --root /tmp/torchref/voc \
        --lr 0.01 --steps 600 [--width 0.25] [--seed 0] [--no-aug] \
        [--batch 32] [--threads 2] [--log-every 50] [--log /tmp/run.jsonl]
It prints a loss line every --log-every steps and a final JSON line with
test mIoU, pixel accuracy, per-class IoU and the final train loss.
"""

import argparse
import json
import math
import os
import time

from script_help import answer_help

if __name__ == "__main__":
    answer_help(__doc__)

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

NUM_CLASSES = 9
IGNORE = 255
MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)


# ---- data ----

def load_split(root, split):
    with open(os.path.join(root, "ImageSets", "Segmentation", split + ".txt")) as f:
        ids = [line.strip() for line in f if line.strip()]
    imgs = [np.array(Image.open(os.path.join(root, "JPEGImages", i + ".png")).convert("RGB")) for i in ids]
    masks = [np.array(Image.open(os.path.join(root, "SegmentationClass", i + ".png"))) for i in ids]
    return np.stack(imgs), np.stack(masks)


def normalize(img):
    return ((img.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)


def random_crop_box(rng, h, w, crop):
    y = rng.integers(0, max(h - crop, 0) + 1)
    x = rng.integers(0, max(w - crop, 0) + 1)
    return y, min(y + crop, h), x, min(x + crop, w)


def balanced(mask, max_ratio):
    labels, counts = np.unique(mask, return_counts=True)
    counts = counts[labels != IGNORE]
    return len(counts) > 1 and counts.max() / counts.sum() < max_ratio


def photometric(rng, img):
    """mmseg PhotoMetricDistortion on a uint8 RGB image."""
    def convert(x, alpha=1.0, beta=0.0):
        return np.clip(x.astype(np.float32) * alpha + beta, 0, 255).astype(np.uint8)

    if rng.integers(2):
        img = convert(img, beta=rng.uniform(-32, 32))
    mode = rng.integers(2)
    if mode == 1 and rng.integers(2):
        img = convert(img, alpha=rng.uniform(0.5, 1.5))
    hsv = np.array(Image.fromarray(img).convert("HSV"))
    if rng.integers(2):
        hsv[:, :, 1] = convert(hsv[:, :, 1], alpha=rng.uniform(0.5, 1.5))
    if rng.integers(2):  # OpenCV's H is 0-180, PIL's 0-255: delta 18 of 180
        shift = int(round(rng.integers(-18, 19) * 256 / 180))
        hsv[:, :, 0] = ((hsv[:, :, 0].astype(np.int32) + shift) % 256).astype(np.uint8)
    img = np.array(Image.fromarray(hsv, "HSV").convert("RGB"))
    if mode == 0 and rng.integers(2):
        img = convert(img, alpha=rng.uniform(0.5, 1.5))
    return img


def augment(rng, img, mask, crop):
    """mmseg's training pipeline scaled to crop px: (3, crop, crop) float, (crop, crop) int64."""
    h, w = mask.shape
    r = rng.uniform(0.5, 2.0)
    long_, short = int(4 * crop * r), int(crop * r)
    f = min(max(long_, short) / max(h, w), min(long_, short) / min(h, w))
    rh, rw = int(h * f + 0.5), int(w * f + 0.5)
    img = np.array(Image.fromarray(img).resize((rw, rh), Image.BILINEAR))
    mask = np.array(Image.fromarray(mask).resize((rw, rh), Image.NEAREST))
    box = random_crop_box(rng, rh, rw, crop)
    for _ in range(10):
        if balanced(mask[box[0]:box[1], box[2]:box[3]], 0.75):
            break
        box = random_crop_box(rng, rh, rw, crop)
    img, mask = img[box[0]:box[1], box[2]:box[3]], mask[box[0]:box[1], box[2]:box[3]]
    if rng.random() < 0.5:
        img, mask = img[:, ::-1].copy(), mask[:, ::-1].copy()
    img = photometric(rng, np.ascontiguousarray(img))
    out_img = np.zeros((3, crop, crop), np.float32)
    out_mask = np.full((crop, crop), IGNORE, np.int64)
    out_img[:, :img.shape[0], :img.shape[1]] = normalize(img)
    out_mask[:mask.shape[0], :mask.shape[1]] = mask
    return out_img, out_mask


def make_batch(rng, imgs, masks, idx, crop, aug):
    if not aug:
        return (torch.from_numpy(np.stack([normalize(imgs[i]) for i in idx])),
                torch.from_numpy(masks[idx].astype(np.int64)))
    pairs = [augment(rng, imgs[i], masks[i], crop) for i in idx]
    return torch.from_numpy(np.stack([p[0] for p in pairs])), torch.from_numpy(np.stack([p[1] for p in pairs]))


# ---- model ----

def conv_bn_relu(cin, cout, k=3, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNet18(nn.Module):
    """Small stem, no max-pool; returns C4 and C5."""

    def __init__(self, width):
        super().__init__()
        c = [max(1, int(round(64 * width * m))) for m in (1, 2, 4, 8)]
        self.stem = conv_bn_relu(3, c[0])
        layers, cin = [], c[0]
        for i, cout in enumerate(c):
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layers = nn.ModuleList(layers)
        self.channels = c

    def forward(self, x):
        x = self.stem(x)
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats[2], feats[3]


class FCNHead(nn.Module):
    def __init__(self, cin, channels, num_convs, concat_input):
        super().__init__()
        self.convs = nn.Sequential(*[conv_bn_relu(cin if k == 0 else channels, channels) for k in range(num_convs)])
        self.conv_cat = conv_bn_relu(cin + channels, channels) if concat_input else None
        self.dropout = nn.Dropout2d(0.1)
        self.conv_seg = nn.Conv2d(channels, NUM_CLASSES, 1)

    def forward(self, x):
        h = self.convs(x)
        if self.conv_cat is not None:
            h = self.conv_cat(torch.cat([x, h], 1))
        return self.conv_seg(self.dropout(h))


class FCN(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.backbone = ResNet18(width)
        c4, c5 = self.backbone.channels[2], self.backbone.channels[3]
        self.decode_head = FCNHead(c5, c5 // 4, 2, True)
        self.auxiliary_head = FCNHead(c4, c4 // 4, 1, False)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for head in (self.decode_head, self.auxiliary_head):
            nn.init.normal_(head.conv_seg.weight, 0, 0.01)
            nn.init.zeros_(head.conv_seg.bias)

    def forward(self, x):
        c4, c5 = self.backbone(x)
        size = x.shape[2:]
        up = lambda t: F.interpolate(t, size=size, mode="bilinear", align_corners=False)
        return up(self.decode_head(c5)), up(self.auxiliary_head(c4))


def seg_loss(logits, labels):
    """mmseg 0.x: per-pixel CE, ignored pixels 0, mean over all pixels."""
    return F.cross_entropy(logits, labels, ignore_index=IGNORE, reduction="none").mean()


# ---- train and test ----

def poly_lr(base, step, total, power=0.9, min_lr=1e-4):
    return (base - min_lr) * (1 - step / total) ** power + min_lr


def evaluate(model, imgs, masks):
    model.eval()
    cm = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    with torch.no_grad():
        for s in range(0, len(imgs), 50):
            x = torch.from_numpy(np.stack([normalize(i) for i in imgs[s:s + 50]]))
            pred = model(x)[0].argmax(1).numpy().ravel()
            gt = masks[s:s + 50].astype(np.int64).ravel()
            keep = gt != IGNORE
            cm += np.bincount(gt[keep] * NUM_CLASSES + pred[keep], minlength=NUM_CLASSES ** 2).reshape(cm.shape)
    model.train()
    inter = np.diag(cm).astype(np.float64)
    union = cm.sum(0) + cm.sum(1) - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
    return float(np.nanmean(iou)), float(inter.sum() / cm.sum()), iou


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", default="/tmp/torchref/voc")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--no-aug", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--log", help="write a JSON line per logged step here")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    train_imgs, train_masks = load_split(a.root, "train")
    test_imgs, test_masks = load_split(a.root, "test")
    crop = train_imgs.shape[1]
    model = FCN(a.width)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=5e-4)
    log = open(a.log, "w") if a.log else None
    order, pos, sums, start = [], 0, np.zeros(3), time.time()
    first = None
    for step in range(a.steps):
        if pos + a.batch > len(order):
            order, pos = rng.permutation(len(train_imgs)), 0
        idx = order[pos:pos + a.batch]
        pos += a.batch
        x, y = make_batch(rng, train_imgs, train_masks, idx, crop, not a.no_aug)
        for g in opt.param_groups:
            g["lr"] = poly_lr(a.lr, step, a.steps)
        logits, aux = model(x)
        decode, aux_loss = seg_loss(logits, y), seg_loss(aux, y)
        loss = decode + 0.4 * aux_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if first is None:
            first = (loss.item(), decode.item(), aux_loss.item())
            print(json.dumps({"step": 1, "init_loss": first[0], "init_decode": first[1], "init_aux": first[2]}))
        sums += (loss.item(), decode.item(), aux_loss.item())
        if (step + 1) % a.log_every == 0 or step + 1 == a.steps:
            n = (step % a.log_every) + 1 if (step + 1) % a.log_every else a.log_every
            line = {"step": step + 1, "lr": opt.param_groups[0]["lr"], "loss": sums[0] / n, "decode": sums[1] / n,
                    "aux": sums[2] / n, "time": round(time.time() - start, 1)}
            print(json.dumps(line), flush=True)
            if log:
                log.write(json.dumps(line) + "\n")
            last, sums = line, np.zeros(3)
    miou, acc, iou = evaluate(model, test_imgs, test_masks)
    result = {"lr": a.lr, "steps": a.steps, "aug": not a.no_aug, "width": a.width, "seed": a.seed,
              "mIoU": miou, "pixel_acc": acc, "iou": [round(v, 4) for v in iou.tolist()],
              "final_train_loss": last["loss"], "final_decode": last["decode"], "seconds": round(time.time() - start)}
    print(json.dumps(result))
    if log:
        log.write(json.dumps(result) + "\n")
        log.close()


if __name__ == "__main__":
    main()
