#!/usr/bin/python3
"""Writes tests/data/fixtures/transforms.h: torchvision 0.14's functional
ops on fixed parameters, which tests/data/test_transforms.c recomputes with
data/transform_*.c and data/augment_pretrain.c.

The library matches torchvision's *tensor* path on float images in [0, 1]
(uint8 / 255), with antialias=True for the bilinear resize, which is PIL's
resampling rule computed in float (see data/transforms.h for why not the PIL
path). Sources are an 11x13 RGB image and an 11x13 label mask made from a
formula, written out as well so the C side reads the very same bytes.

Each case's parameters are written next to its expected output (a *_p
array), so the numbers live in this script only. Factors are chosen exactly
representable in float32, so C and Python blend with the same weights.

Run from the repository root:  /usr/bin/python3 tools/make_fixtures_transforms.py
The tests never need Python; rerun this only when a case changes."""
import math

from script_help import answer_help

if __name__ == "__main__":
    answer_help(__doc__)

import torch
import torchvision
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode

from fixture_c import c_array

H, W = 11, 13
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
out = []


def emit(name, t):
    out.append(c_array("tf_" + name, t))


def source():
    """uint8 (3, H, W): a scrambled formula, so neighbours differ."""
    c, y, x = torch.meshgrid(torch.arange(3), torch.arange(H), torch.arange(W), indexing="ij")
    return ((37 * x + 71 * y + 101 * c + 13 * x * y) % 256).to(torch.uint8)


def mask():
    """uint8 (H, W) labels 0..4 in blocks, with 255 (ignore) on a diagonal."""
    y, x = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    m = (x // 4 + 2 * (y // 3)) % 5
    m[(x + y) % 7 == 0] = 255
    return m.to(torch.uint8)


def blur_ksize(sigma):
    """The library's kernel size for a sigma: 2 * ceil(3 sigma) + 1."""
    return 2 * math.ceil(3 * sigma) + 1


SRC, MASK = source(), mask()
IMG = SRC.float() / 255
emit("src", SRC.permute(1, 2, 0).long())  # HWC, as tg_image holds it
emit("mask", MASK.long())
emit("img", IMG)

# Crop box (x, y, w, h) of the source, resized to (out_h, out_w).
for name, (x, y, w, h, oh, ow), aa in [
    ("rc_down", (1, 2, 11, 9, 5, 4), True),
    ("rc_up", (4, 3, 5, 4, 9, 12), True),
    ("rc_mixed", (0, 0, 13, 11, 16, 6), True),
    ("rs_plain", (0, 0, 13, 11, 5, 20), False),
]:
    emit(name + "_p", torch.tensor([x, y, w, h, oh, ow]))
    emit(name, F.resized_crop(IMG, y, x, h, w, [oh, ow], InterpolationMode.BILINEAR, antialias=aa))

for name, (oh, ow) in [("nn_a", (7, 17)), ("nn_b", (23, 29)), ("nn_c", (4, 5))]:
    emit(name + "_p", torch.tensor([oh, ow]))
    emit(name, F.resize(MASK[None], [oh, ow], InterpolationMode.NEAREST)[0].long())

for name, fn, factor in [
    ("bright_up", F.adjust_brightness, 1.25),
    ("bright_down", F.adjust_brightness, 0.625),
    ("contrast_down", F.adjust_contrast, 0.75),
    ("contrast_up", F.adjust_contrast, 1.375),
    ("sat_down", F.adjust_saturation, 0.625),
    ("sat_up", F.adjust_saturation, 1.375),
    ("hue_pos", F.adjust_hue, 0.0625),
    ("hue_neg", F.adjust_hue, -0.09375),
    ("hue_half", F.adjust_hue, 0.5),
]:
    emit(name + "_p", torch.tensor([factor]))
    emit(name, fn(IMG, factor))
emit("gray", F.rgb_to_grayscale(IMG, 3))

for name, sigma in [("blur_a", 0.75), ("blur_b", 1.125), ("blur_c", 2.0)]:
    k = blur_ksize(sigma)
    emit(name + "_p", torch.tensor([sigma, float(k)]))
    emit(name, F.gaussian_blur(IMG, [k, k], [sigma, sigma]))
emit("hflip", F.hflip(IMG))
emit("normalize", F.normalize(IMG, MEAN, STD))


def pretrain_view(crop, size, order, factors, gray, sigma, flip):
    """The MoCo-v2 recipe on given parameters: resized crop, the jitter ops
    in the given order (0 brightness, 1 contrast, 2 saturation, 3 hue; none
    when order is empty), grayscale, blur (sigma 0: none), flip, normalize."""
    x, y, w, h = crop
    v = F.resized_crop(IMG, y, x, h, w, [size, size], InterpolationMode.BILINEAR, antialias=True)
    ops = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue]
    for i in order:
        v = ops[i](v, factors[i])
    if gray:
        v = F.rgb_to_grayscale(v, 3)
    if sigma > 0:
        v = F.gaussian_blur(v, [blur_ksize(sigma)] * 2, [sigma, sigma])
    if flip:
        v = F.hflip(v)
    return F.normalize(v, MEAN, STD)


# Parameters: crop x y w h, size, jitter on, order[4], factors[4], gray, sigma, flip.
for name, (crop, size, order, factors, gray, sigma, flip) in [
    ("view_a", ((1, 2, 11, 8), 8, [3, 0, 2, 1], [1.25, 0.75, 1.375, -0.0625], False, 0.875, True)),
    ("view_b", ((0, 0, 13, 11), 6, [], [1, 1, 1, 0], True, 0.0, False)),
    ("view_c", ((2, 1, 7, 9), 10, [1, 2, 3, 0], [0.625, 1.25, 0.75, 0.09375], True, 0.5, False)),
]:
    emit(name + "_p", torch.tensor([*crop, size, 1 if order else 0, *(order or [0, 1, 2, 3]), *factors,
                                    1 if gray else 0, sigma, 1 if flip else 0], dtype=torch.float32))
    emit(name, pretrain_view(crop, size, order, factors, gray, sigma, flip))

with open("tests/data/fixtures/transforms.h", "w") as f:
    f.write("/* Generated by tools/make_fixtures_transforms.py with torch %s, torchvision %s;"
            " do not edit. */\n" % (torch.__version__, torchvision.__version__))
    f.write("#include <stdint.h>\n\n")
    f.write("\n".join(out) + "\n")
