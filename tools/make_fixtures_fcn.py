#!/usr/bin/python3
"""Writes tests/models/fixtures_fcn.h: what PyTorch computes for the FCN of
models/fcn.h (a torchvision ResNet with mmseg's FCNHead on C5 and an
auxiliary FCNHead on C4, docs/protocol.md section 11) when every parameter, running
statistic, the input and the labels are filled by the formulas that
tests/models/test_fcn.c repeats in C (those of make_fixtures_resnet.py).

The heads are written here in plain PyTorch the way mmseg v0.11 builds
them: BaseDecodeHead registers conv_seg (1x1, bias) and dropout first,
FCNHead then convs (ConvModule: conv without bias, "bn", ReLU) and
conv_cat; forward is convs, cat([x, out]) -> conv_cat, dropout, conv_seg.
The backbone is torchvision's ResNet with its layers rebuilt at a small
width (torchvision's own Bottleneck and BasicBlock, its dilation rule).
The loss is mmseg's: logits resized bilinearly to the labels, per-pixel
cross-entropy with 255 ignored, averaged over every pixel (ignored ones
count 0), decode + 0.4 aux.

Cases, batch 2 at 32x32 and 3 classes, 255 among the labels:
  r18_train  ResNet-18 width 1/8, small stem, not dilated (C5 4x4),
             training mode (batch statistics), dropout off, align_corners False
  r50_eval   ResNet-50 width 1/16, standard stem, dilated (C5 4x4),
             eval mode (dropout 0.1 inactive), align_corners True

The reference runs in float64; each row also records e, how far PyTorch's
own float32 run is from it (relative to the tensor's norm), as in
make_fixtures_resnet.py: the C test allows 1e-4 + 3e. Rows: the logits
and aux logits, every head parameter's gradient, some backbone ones, and
in training mode the running statistics after the step.

Run from the repository root:  /usr/bin/python3 tools/make_fixtures_fcn.py"""
import os
import sys

from script_help import answer_help

if __name__ == "__main__":
    answer_help(__doc__)

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures_resnet import filled, noise, relu_margin, with_errors, write_stats  # noqa: E402

BATCH, SIZE, CLASSES, IGNORE = 2, 32, 3, 255
LABEL_SEED, SAMPLE_STRIDE = 4242, 97
CASES = {
    "r18_train": dict(depth=18, width=0.125, small_stem=True, dilate=False, training=True, dropout=0.0,
                      align_corners=False),
    "r50_eval": dict(depth=50, width=0.0625, small_stem=False, dilate=True, training=False, dropout=0.1,
                     align_corners=True),
}


def backbone(depth, width, small_stem, dilate):
    """torchvision's ResNet with every layer rebuilt at round(64 width) channels."""
    block, layers = (BasicBlock, [2, 2, 2, 2]) if depth == 18 else (Bottleneck, [3, 4, 6, 3])
    m = torchvision.models.resnet.ResNet(block, layers)
    w = round(64 * width)
    m.inplanes, m.dilation = w, 1
    m.conv1 = nn.Conv2d(3, w, 3, 1, 1, bias=False) if small_stem else nn.Conv2d(3, w, 7, 2, 3, bias=False)
    m.bn1 = nn.BatchNorm2d(w)
    if small_stem:
        m.maxpool = nn.Identity()
    m.layer1 = m._make_layer(block, w, layers[0])
    m.layer2 = m._make_layer(block, 2 * w, layers[1], stride=2)
    m.layer3 = m._make_layer(block, 4 * w, layers[2], stride=2, dilate=dilate)
    m.layer4 = m._make_layer(block, 8 * w, layers[3], stride=2, dilate=dilate)
    m.fc = nn.Identity()
    return m, 4 * w * block.expansion, 8 * w * block.expansion


class ConvModule(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.activate = nn.ReLU()

    def forward(self, x):
        return self.activate(self.bn(self.conv(x)))


class FCNHead(nn.Module):
    def __init__(self, cin, channels, num_convs, concat_input, dropout):
        super().__init__()
        self.conv_seg = nn.Conv2d(channels, CLASSES, 1)
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else None
        self.convs = nn.Sequential(*[ConvModule(cin if k == 0 else channels, channels) for k in range(num_convs)])
        self.concat_input = concat_input
        if concat_input:
            self.conv_cat = ConvModule(cin + channels, channels)

    def forward(self, x):
        out = self.convs(x)
        if self.concat_input:
            out = self.conv_cat(torch.cat([x, out], dim=1))
        if self.dropout is not None:
            out = self.dropout(out)
        return self.conv_seg(out)


class FCN(nn.Module):
    def __init__(self, depth, width, small_stem, dilate, dropout, align_corners, **_):
        super().__init__()
        self.backbone, c4, c5 = backbone(depth, width, small_stem, dilate)
        self.decode_head = FCNHead(c5, c5 // 4, 2, True, dropout)
        self.auxiliary_head = FCNHead(c4, c4 // 4, 1, False, dropout)
        self.align_corners = align_corners

    def forward(self, x):
        b = self.backbone
        h = b.maxpool(b.relu(b.bn1(b.conv1(x))))
        c4 = b.layer3(b.layer2(b.layer1(h)))
        c5 = b.layer4(c4)
        size = x.shape[2:]
        up = lambda t: F.interpolate(t, size, mode="bilinear", align_corners=self.align_corners)  # noqa: E731
        return up(self.decode_head(c5)), up(self.auxiliary_head(c4))


def seg_loss(logits, labels, avg_non_ignore=False):
    """mmseg's cross-entropy: mean over every pixel, or over labelled ones."""
    per_pixel = F.cross_entropy(logits, labels, reduction="none", ignore_index=IGNORE)
    if avg_non_ignore:
        return per_pixel.sum() / (labels != IGNORE).sum()
    return per_pixel.mean()


def make_labels():
    """floor(u (C + 1)) for u = (noise + 1) / 2; the value C means ignored."""
    n = BATCH * SIZE * SIZE
    v = torch.floor((noise(n, LABEL_SEED) + 1.0) / 2.0 * (CLASSES + 1)).to(torch.int64)
    v[v == CLASSES] = IGNORE
    return v.reshape(BATCH, SIZE, SIZE)


def build(case, dtype):
    return filled(FCN(**CASES[case]), dtype, CASES[case]["training"])


def make_input(dtype, seed):
    return noise(BATCH * 3 * SIZE * SIZE, seed).to(torch.float32).to(dtype).reshape(BATCH, 3, SIZE, SIZE)


def pick_seed(case):
    """The first input seed whose ReLU inputs all keep 1e-6 away from 0 (see make_fixtures_resnet.py)."""
    for seed in range(777, 777 + 400):
        if relu_margin(build(case, torch.float64), make_input(torch.float64, seed)) > 1e-6:
            return seed
    raise SystemExit("no input seed keeps clear of the ReLU kinks")


def run(case, dtype, seed):
    model = build(case, dtype)
    logits, aux = model(make_input(dtype, seed))
    labels = make_labels()
    decode, aux_loss = seg_loss(logits, labels), seg_loss(aux, labels)
    loss = decode + 0.4 * aux_loss
    loss.backward()
    plain = seg_loss(logits, labels, True) + 0.4 * seg_loss(aux, labels, True)
    losses = [loss.item(), decode.item(), aux_loss.item(), plain.item()]
    return model, {"logits": logits, "aux_logits": aux}, losses


def rows_of(model):
    """(name, is_grad, tensor): every head gradient, every 8th backbone one
    and the last, and (training) the float running statistics likewise."""
    def pick(items):
        backbone = [n for n, _ in items if n.startswith("backbone.")]
        chosen = set(backbone[::8] + backbone[-1:])
        return [(n, t) for n, t in items if not n.startswith("backbone.") or n in chosen]

    out = [(n, 1, p.grad) for n, p in pick(list(model.named_parameters()))]
    if model.training:
        out += [(n, 0, b) for n, b in pick([(n, b) for n, b in model.named_buffers() if b.is_floating_point()])]
    return out


def write_case(f, case):
    seed = pick_seed(case)
    model, outs, losses = run(case, torch.float64, seed)
    model32, outs32, losses32 = run(case, torch.float32, seed)
    p = "fcn_%s" % case
    f.write("static const uint32_t %s_input_seed = %d;\n" % (p, seed))
    f.write("/* total, decode, aux (mmseg's mean); total averaged over labelled pixels; then e of each */\n")
    errs = [abs(a - b) / abs(b) for a, b in zip(losses32, losses)]
    f.write("static const double %s_loss[8] = {%s};\n" % (p, ", ".join("%.17g" % v for v in losses + errs)))
    f.write("static const fixture_stats %s_outputs[] = {\n" % p)
    for name in ("logits", "aux_logits"):
        s = with_errors(name, outs[name].detach(), outs32[name].detach())
        f.write('    {"%s", 0, {%s}},\n' % (name, ", ".join("%.12g" % v for v in s)))
    f.write("};\n")
    for name in ("logits", "aux_logits"):
        sample = outs[name].detach().flatten()[::SAMPLE_STRIDE].tolist()
        f.write("static const double %s_%s_sample[] = {%s};\n" % (p, name, ", ".join("%.12g" % v for v in sample)))
    write_stats(f, "%s_stats" % p, rows_of(model), rows_of(model32))
    print(case, "input seed", seed, "losses", losses)
    return model


def main():
    torch.set_num_threads(2)
    path = "tests/models/fixtures_fcn.h"
    with open(path, "w") as f:
        f.write("/* Generated by tools/make_fixtures_fcn.py with torch %s, torchvision %s; do not edit. */\n" % (
            torch.__version__, torchvision.__version__))
        f.write("#define FCN_SAMPLE_STRIDE %d\n#define FCN_LABEL_SEED %d\n" % (SAMPLE_STRIDE, LABEL_SEED))
        model = write_case(f, "r18_train")
        write_case(f, "r50_eval")
        f.write("/* The r18_train model's state_dict keys, in order. */\n")
        f.write("static const char *const fcn_r18_state_dict[] = {\n")
        for name in model.state_dict():
            f.write('    "%s",\n' % name)
        f.write("    NULL,\n};\n")
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
