#!/usr/bin/python3
"""Writes tests/autograd/fixtures_loss.h: the elementwise losses (L1, smooth
L1, Huber, binary cross-entropy with logits with weight and pos_weight, KL
divergence with and without a log target) computed by PyTorch (Debian's
python3-torch) with each reduction, and the gradients of input and target
for loss = sum(y * c), c a fixed random tensor of y's shape;
and the class losses (cross-entropy with class weights, label smoothing
and ignore_index, NLL) with each reduction on (N,C) and (N,C,H,W) inputs.
tests/autograd/test_parity_loss.c recomputes them with tensorgrad. The
inputs hit the branch points (|input - target| equal to beta and delta, a
target of exactly 0 for KL) and logits out to |x| = 30.

Run from the repository root:  /usr/bin/python3 tools/make_fixtures_loss.py
The tests never need Python; rerun this only when a case changes."""
from script_help import answer_help

if __name__ == "__main__":
    answer_help(__doc__)

import torch
import torch.nn.functional as F

from fixture_c import c_array

torch.manual_seed(20261208)
out = []
SHAPE = (4, 6)


def emit(name, t):
    out.append(c_array(name, t))


# regression: d = x - t is exactly +-1 (beta, delta) at two places and 0 at one
X = torch.randn(SHAPE) * 2
T = torch.randn(SHAPE)
X[0, 0], T[0, 0] = 1.5, 0.5
X[0, 1], T[0, 1] = -0.25, 0.75
X[0, 2], T[0, 2] = 0.5, 0.5
# BCE: logits with tails, targets in [0, 1] with exact 0s and 1s
Z = torch.cat([torch.tensor([-30.0, -8.0, -1.0, 0.0, 1.0, 8.0, 30.0]), torch.randn(17) * 3]).reshape(SHAPE)
P = torch.rand(SHAPE)
P[0, :3] = torch.tensor([0.0, 1.0, 1.0])
POS_WEIGHT = torch.rand(6) * 3
WEIGHT = torch.rand(4, 1) + 0.5
# KL: log-probabilities against probabilities (an exact 0) or log-probabilities
LOGQ = torch.log_softmax(torch.randn(SHAPE), dim=1)
PT = torch.softmax(torch.randn(SHAPE), dim=1)
PT[1, 2] = 0.0
LOGPT = torch.log_softmax(torch.randn(SHAPE), dim=1)

for name, t in [("loss_x", X), ("loss_t", T), ("loss_z", Z), ("loss_p", P), ("loss_pos_weight", POS_WEIGHT),
                ("loss_weight", WEIGHT), ("loss_logq", LOGQ), ("loss_pt", PT), ("loss_logpt", LOGPT)]:
    emit(name, t)
C = torch.randn(SHAPE)
emit("loss_c", C)
C0 = torch.tensor(1.7)

CASES = {
    "l1": (X, T, lambda x, t, r: F.l1_loss(x, t, reduction=r)),
    "smooth_l1": (X, T, lambda x, t, r: F.smooth_l1_loss(x, t, reduction=r, beta=1.0)),
    "smooth_l1_beta0": (X, T, lambda x, t, r: F.smooth_l1_loss(x, t, reduction=r, beta=0.0)),
    "huber": (X, T, lambda x, t, r: F.huber_loss(x, t, reduction=r, delta=1.0)),
    "bce": (Z, P, lambda x, t, r: F.binary_cross_entropy_with_logits(x, t, reduction=r)),
    "bce_weighted": (Z, P, lambda x, t, r: F.binary_cross_entropy_with_logits(x, t, weight=WEIGHT,
                                                                              pos_weight=POS_WEIGHT, reduction=r)),
    "kl": (LOGQ, PT, lambda x, t, r: F.kl_div(x, t, reduction=r)),
    "kl_log": (LOGQ, LOGPT, lambda x, t, r: F.kl_div(x, t, reduction=r, log_target=True)),
}
REDUCTIONS = {"kl": ["mean", "sum", "none", "batchmean"], "kl_log": ["batchmean"]}

for name, (a, b, f) in CASES.items():
    for r in REDUCTIONS.get(name, ["mean", "sum", "none"]):
        x, t = a.clone().requires_grad_(), b.clone().requires_grad_()
        y = f(x, t, r)
        (y * (C if r == "none" else C0)).sum().backward()
        emit("%s_%s_y" % (name, r), y)
        emit("%s_%s_gx" % (name, r), x.grad)
        emit("%s_%s_gt" % (name, r), t.grad)

# class losses: (N,C,H,W) logits with targets ignored at -1, (N,C) ones
# with PyTorch's default ignore_index -100 at one row; NLL takes the
# log-softmax of the (N,C,H,W) logits
LOGITS4 = torch.randn(2, 5, 3, 3) * 2
TARGET4 = torch.randint(0, 5, (2, 3, 3))
TARGET4[0, 0, :2] = -1
TARGET4[1, 2, 1] = -1
LOGP4 = F.log_softmax(LOGITS4, 1)
LOGITS2 = torch.randn(6, 5) * 2
TARGET2 = torch.randint(0, 5, (6,))
TARGET2[3] = -100
CLASS_WEIGHT = torch.rand(5) + 0.25
C4, C2 = torch.randn(2, 3, 3), torch.randn(6)
for name, t in [("class_x4", LOGITS4), ("class_t4", TARGET4), ("class_logp4", LOGP4), ("class_x2", LOGITS2),
                ("class_t2", TARGET2), ("class_weight", CLASS_WEIGHT), ("class_c4", C4), ("class_c2", C2)]:
    emit(name, t)
CLASS_CASES = {
    "ce4": (LOGITS4, TARGET4, lambda x, t, r: F.cross_entropy(x, t, ignore_index=-1, reduction=r)),
    "ce4_weighted_smoothed": (LOGITS4, TARGET4, lambda x, t, r: F.cross_entropy(
        x, t, weight=CLASS_WEIGHT, ignore_index=-1, label_smoothing=0.15, reduction=r)),
    "ce2_smoothed": (LOGITS2, TARGET2, lambda x, t, r: F.cross_entropy(x, t, label_smoothing=0.3, reduction=r)),
    "nll4_weighted": (LOGP4, TARGET4, lambda x, t, r: F.nll_loss(x, t, weight=CLASS_WEIGHT, ignore_index=-1,
                                                                 reduction=r)),
    "nll2": (LOGITS2, TARGET2, lambda x, t, r: F.nll_loss(x, t, reduction=r)),
}
for name, (a, t, f) in CLASS_CASES.items():
    for r in ["mean", "sum", "none"]:
        x = a.clone().requires_grad_()
        y = f(x, t, r)
        (y * ((C4 if t is TARGET4 else C2) if r == "none" else C0)).sum().backward()
        emit("%s_%s_y" % (name, r), y)
        emit("%s_%s_gx" % (name, r), x.grad)

with open("tests/autograd/fixtures_loss.h", "w") as f:
    f.write("/* Generated by tools/make_fixtures_loss.py with PyTorch %s; do not edit. */\n" % torch.__version__)
    f.write("#include <math.h>\n#include <stdint.h>\n\n")
    f.write("\n".join(out) + "\n")
