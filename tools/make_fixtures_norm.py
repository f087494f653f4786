#!/usr/bin/python3
"""Writes tests/autograd/fixtures_norm.h: batch norm (training, eval, split
into groups), batch norm followed by a relu (with a residual added before
it: tensorgrad's tg_batch_norm_relu and tg_batch_norm_add_relu) and 2-D
pooling computed by PyTorch (Debian's python3-torch), which
tests/autograd/test_parity_norm.c recomputes with tensorgrad.

Each case contracts its output with a fixed random tensor (loss = sum(y * c))
so every input gradient is non-trivial (sum(bn(x)) alone has dx = 0).
Split BN applies F.batch_norm to each of G sub-batches of N/G consecutive
samples, each group blending from the same running statistics, and the
running statistics become the mean over groups (SplitBatchNorm's update).

Run from the repository root:  /usr/bin/python3 tools/make_fixtures_norm.py
The tests never need Python; rerun this only when a case changes."""
from script_help import answer_help

if __name__ == "__main__":
    answer_help(__doc__)

import torch
import torch.nn.functional as F

from fixture_c import c_array

torch.manual_seed(20261127)
out = []
MOMENTUM, EPS = 0.1, 1e-5


def emit(name, t):
    out.append(c_array(name, t))


def leaf(*shape, scale=1.0, shift=0.0):
    return (torch.randn(*shape) * scale + shift).requires_grad_()


def emit_all(prefix, tensors):
    for n, t in tensors:
        emit(prefix + "_" + n, t)


def case_bn_train(prefix, shape):
    c = shape[1]
    x, w, b = leaf(*shape, scale=2.0, shift=0.5), leaf(c), leaf(c)
    rm, rv = torch.randn(c), torch.rand(c) + 0.5
    emit_all(prefix, [("x", x), ("w", w), ("b", b), ("rm", rm), ("rv", rv)])
    y = F.batch_norm(x, rm, rv, w, b, True, MOMENTUM, EPS)
    weights = torch.randn(*shape)
    (y * weights).sum().backward()
    emit_all(prefix, [("c", weights), ("y", y), ("rm_after", rm), ("rv_after", rv),
                      ("gx", x.grad), ("gw", w.grad), ("gb", b.grad)])


def case_bn_eval(prefix, shape):
    c = shape[1]
    x, w, b = leaf(*shape), leaf(c), leaf(c)
    rm, rv = torch.randn(c), torch.rand(c) + 0.5
    y = F.batch_norm(x, rm, rv, w, b, False, MOMENTUM, EPS)
    weights = torch.randn(*shape)
    (y * weights).sum().backward()
    emit_all(prefix, [("x", x), ("w", w), ("b", b), ("rm", rm), ("rv", rv), ("c", weights), ("y", y),
                      ("gx", x.grad), ("gw", w.grad), ("gb", b.grad)])


def split_batch_norm(x, rm, rv, w, b, training, groups):
    """F.batch_norm on each of groups sub-batches, each blending from the
    same running statistics: y and the running statistics' means over the
    groups (rm and rv are left as they were)."""
    rms, rvs, ys = [], [], []
    for xg in x.chunk(groups, dim=0):
        rmg, rvg = rm.clone(), rv.clone()
        ys.append(F.batch_norm(xg, rmg, rvg, w, b, training, MOMENTUM, EPS))
        rms.append(rmg)
        rvs.append(rvg)
    return torch.cat(ys), torch.stack(rms).mean(0), torch.stack(rvs).mean(0)


def case_bn_split(prefix, shape, groups):
    c = shape[1]
    x, w, b = leaf(*shape), leaf(c), leaf(c)
    rm, rv = torch.randn(c), torch.rand(c) + 0.5
    emit_all(prefix, [("x", x), ("w", w), ("b", b), ("rm", rm), ("rv", rv)])
    y, rm_after, rv_after = split_batch_norm(x, rm, rv, w, b, True, groups)
    weights = torch.randn(*shape)
    (y * weights).sum().backward()
    emit_all(prefix, [("c", weights), ("y", y), ("rm_after", rm_after), ("rv_after", rv_after), ("gx", x.grad),
                      ("gw", w.grad), ("gb", b.grad)])


def case_bn_relu(prefix, shape, training, groups, residual):
    """relu(bn(x) + r) (r only with residual), split into groups (in
    training) as case_bn_split; the cases come after the others, so their
    draws leave the earlier arrays as they were."""
    c = shape[1]
    x, w, b = leaf(*shape, scale=2.0, shift=0.5), leaf(c), leaf(c)
    r = leaf(*shape) if residual else None
    rm, rv = torch.randn(c), torch.rand(c) + 0.5
    emit_all(prefix, [("x", x), ("w", w), ("b", b), ("rm", rm), ("rv", rv)] + ([("r", r)] if residual else []))
    y, rm_after, rv_after = split_batch_norm(x, rm, rv, w, b, training, groups)
    y = F.relu(y + r if residual else y)
    weights = torch.randn(*shape)
    (y * weights).sum().backward()
    emit_all(prefix, [("c", weights), ("y", y), ("rm_after", rm_after), ("rv_after", rv_after), ("gx", x.grad),
                      ("gw", w.grad), ("gb", b.grad)] + ([("gr", r.grad)] if residual else []))


def case_pool(prefix, shape, fn, indices=None):
    # distinct values (a scrambled ramp plus noise) so max pooling has no ties
    n = torch.tensor(shape).prod().item()
    x = (torch.randperm(n).float().reshape(shape) * 0.1 + torch.rand(shape) * 0.05).requires_grad_()
    y = fn(x)
    weights = torch.randn(y.shape)
    (y * weights).sum().backward()
    emit_all(prefix, [("x", x), ("c", weights), ("y", y), ("gx", x.grad)])
    if indices:  # max pooling's return_indices
        emit_all(prefix, [("idx", indices(x)[1])])


case_bn_train("bn4", (4, 3, 4, 4))
case_bn_train("bn2", (8, 5))
case_bn_eval("bneval", (2, 3, 4, 4))
case_bn_split("bnsplit", (8, 2, 3, 3), 2)
case_pool("maxp1", (1, 2, 7, 7), lambda x: F.max_pool2d(x, 3, 2, 1),
          lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True))
case_pool("maxceil", (1, 2, 7, 7), lambda x: F.max_pool2d(x, 2, 2, 0, ceil_mode=True),
          lambda x: F.max_pool2d(x, 2, 2, 0, ceil_mode=True, return_indices=True))
case_pool("maxdil", (1, 2, 7, 7), lambda x: F.max_pool2d(x, 3, 1, 1, dilation=2),
          lambda x: F.max_pool2d(x, 3, 1, 1, dilation=2, return_indices=True))
case_pool("avgpad", (1, 2, 7, 7), lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=True))
case_pool("avgnopad", (1, 2, 7, 7), lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False))
case_pool("avgceil", (1, 2, 6, 6), lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True))
case_pool("avgceilnp", (1, 2, 6, 6),
          lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False))
case_pool("adapt1", (1, 2, 7, 7), lambda x: F.adaptive_avg_pool2d(x, 1))
case_pool("adapt3", (1, 2, 5, 5), lambda x: F.adaptive_avg_pool2d(x, 3))
case_pool("adapt43", (1, 2, 7, 5), lambda x: F.adaptive_avg_pool2d(x, (4, 3)))
case_bn_relu("bnrelu4", (4, 3, 4, 4), True, 1, False)
case_bn_relu("bnrelu2", (8, 5), True, 1, False)
case_bn_relu("bnrelusplit", (8, 2, 3, 3), True, 2, False)
case_bn_relu("bnreluevalr", (2, 3, 4, 4), False, 1, True)
case_bn_relu("bnaddrelu", (8, 2, 3, 3), True, 2, True)
with open("tests/autograd/fixtures_norm.h", "w") as f:
    f.write("/* Generated by tools/make_fixtures_norm.py with PyTorch %s; do not edit. */\n"
            % torch.__version__)
    f.write("#include <stdint.h>\n\n")
    f.write("\n".join(out) + "\n")
