#!/usr/bin/python3
"""Writes tests/models/fixtures_resnet*.h: what torchvision computes for a
ResNet whose every parameter, running statistic and input is filled by a
formula that tests/models/test_resnet.c repeats in C, so no weights are
committed. Cases: ResNet-18 and ResNet-50 in eval mode, ResNet-18 in
training mode (batch statistics, running statistics updated).

The values are integer-hash noise (exact in both languages), scaled like
Kaiming init. The reference runs in float64. torchvision's own float32 run
is not that close to it: its logits are up to 4e-4 away on ResNet-50, and
some of its gradients 1-3% (norm-wise), because rounding flips a few ReLU
and max-pool decisions deep in the net. So each row also records e, how
far torchvision's float32 gradient is from float64, relative to the
tensor's norm, overall and for each statistic; the C test allows 1e-4 + 3e
per statistic: about as close to the truth as PyTorch itself. ResNet-18's
e are all below 1e-5 for most tensors, so there the test is strict.

The input is the first seed whose ReLU inputs all stay 1e-6 (relative)
away from 0, so no float32 run takes the other side of a kink.
Training mode with batch statistics over 2 images at 64x64 is badly
conditioned (channels whose 8 values at stage 4 nearly coincide), so the
e of a training run reach 1-3%; in eval mode they stay below 1e-5 and the
test is strict.

For a batch of 2 RGB images at 64x64, the file holds the logits, the loss L = sum(logits * cos(0.13 j)), and for
every parameter and BN running statistic: the sum, the sum of squares and a
formula-weighted sum of its gradient (or value, for running stats).
Single elements are not compared: rounding flips make some of them (early
BN biases of ResNet-50) 40% off in torchvision's own float32 run.

Run from the repository root:  /usr/bin/python3 tools/make_fixtures_resnet.py"""
import math

from script_help import answer_help

if __name__ == "__main__":
    answer_help(__doc__)

import torch
import torchvision

BATCH, SIZE = 2, 64


def fnv1a(name):
    h = 2166136261
    for b in name.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def phase(name):
    return (fnv1a(name) % 10007) / 10007.0 * 2.0 * math.pi


def noise(n, seed):
    """Uniform in [-1, 1): a 32-bit integer hash of (i, seed)."""
    i = torch.arange(n, dtype=torch.int64)
    h = (i * 2654435761 + seed) & 0xFFFFFFFF
    h = h ^ (h >> 16)
    h = (h * 0x45D9F3B) & 0xFFFFFFFF
    h = h ^ (h >> 16)
    return h.to(torch.float64) / 4294967296.0 * 2.0 - 1.0


def fill(name, t):
    """The value every implementation gives parameter `name` of shape t."""
    n, seed = t.numel(), fnv1a(name)
    if name.endswith("num_batches_tracked"):
        return None
    if name.endswith("running_var"):
        v = 1.0 + 0.5 * noise(n, seed)
    elif t.dim() >= 2:
        fan_in = t[0].numel()
        v = math.sqrt(6.0 / fan_in) * noise(n, seed)
    elif name.endswith("weight"):  # BN scale
        v = 1.0 + 0.2 * noise(n, seed)
    else:  # BN / fc bias
        v = 0.1 * noise(n, seed)
    return v.to(torch.float32).reshape(t.shape)


def stats(name, t):
    d = t.detach().to(torch.float64).flatten()
    n = d.numel()
    w = torch.cos(0.29 * torch.arange(n, dtype=torch.float64) + phase(name))
    return [d.sum().item(), (d * d).sum().item(), (d * w).sum().item()]


def kink_margin(depth, training, seed):
    """The smallest |ReLU input| relative to the RMS of its tensor, over every
    ReLU of the float64 forward: a value within float32 rounding of 0 (about
    1e-6 relative) may take the other side of the kink in float32 and move
    early gradients by 1e-3 of their norm."""
    return relu_margin(build(depth, torch.float64, training), make_input(torch.float64, seed))


def relu_margin(model, x):
    """The smallest |ReLU input| relative to its tensor's RMS in model(x)."""
    margins = []

    def hook(_, inputs):
        t = inputs[0]
        margins.append((t.abs().min() / t.pow(2).mean().sqrt()).item())

    for mod in model.modules():
        if isinstance(mod, torch.nn.ReLU):
            mod.register_forward_pre_hook(hook)
    with torch.no_grad():
        model(x)
    return min(margins)


def build(depth, dtype, training):
    return filled(getattr(torchvision.models, "resnet%d" % depth)(), dtype, training)


def filled(model, dtype, training):
    """model with every state_dict tensor set by fill, in dtype and mode."""
    with torch.no_grad():
        for name, t in model.state_dict().items():
            v = fill(name, t)
            if v is not None:
                t.copy_(v)
    model = model.to(dtype)
    model.train(training)
    return model


def make_input(dtype, seed):
    n = BATCH * 3 * SIZE * SIZE
    return noise(n, seed).to(torch.float32).to(dtype).reshape(BATCH, 3, SIZE, SIZE)


def pick_seed(depth, training):
    """The first input seed whose ReLU inputs all keep 1e-6 away from 0."""
    for seed in range(12345, 12345 + 400):
        if kink_margin(depth, training, seed) > 1e-6:
            return seed
    raise SystemExit("no input seed keeps clear of the ReLU kinks")


def run(depth, dtype, training, seed):
    """The model after one forward and backward in dtype, and its loss."""
    model = build(depth, dtype, training)
    logits = model(make_input(dtype, seed))
    j = torch.arange(logits.numel(), dtype=torch.float64)
    loss = (logits.to(torch.float64).flatten() * torch.cos(0.13 * j)).sum()
    loss.backward()
    return model, logits, loss


def tensors(model):
    """(name, is_grad, tensor) for every gradient and float running statistic."""
    out = [(name, 1, p.grad) for name, p in model.named_parameters()]
    out += [(name, 0, b) for name, b in model.named_buffers() if b.is_floating_point()]
    return out


def rel_err(a, b):
    a, b = a.detach().double(), b.detach().double()
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


def with_errors(name, t64, t32):
    """stats of the float64 tensor, then e of each: how far the float32
    one's is, relative to its scale, or the norm-wise error if larger."""
    s64, s32 = stats(name, t64), stats(name, t32)
    scale = [math.sqrt(s64[1]), s64[1], math.sqrt(s64[1])]
    errs = [abs(a - b) / max(c, 1e-300) for a, b, c in zip(s32, s64, scale)]
    return s64 + [max(err, rel_err(t32, t64)) for err in errs]


def write_stats(f, table, rows64, rows32):
    """A fixture_stats table of the rows (name, is_grad, tensor) of the
    float64 run, with_errors against the float32 run's same rows."""
    f.write("static const fixture_stats %s[] = {\n" % table)
    for (name, is_grad, t), (_, _, t32) in zip(rows64, rows32):
        s = with_errors(name, t, t32)
        f.write('    {"%s", %d, {%s}},\n' % (name, is_grad, ", ".join("%.12g" % v for v in s)))
    f.write("    {NULL, 0, {0}},\n};\n")


def main():
    torch.set_num_threads(2)
    for depth, mode in ((18, "eval"), (50, "eval"), (18, "train")):
        seed = pick_seed(depth, mode == "train")
        model, logits, loss = run(depth, torch.float64, mode == "train", seed)
        model32, _, _ = run(depth, torch.float32, mode == "train", seed)
        rows = tensors(model)
        case = "resnet%d_%s" % (depth, mode)
        path = "tests/models/fixtures_%s.h" % case
        with open(path, "w") as f:
            f.write("/* Generated by tools/make_fixtures_resnet.py with torch %s, torchvision %s;"
                    " do not edit. */\n" % (torch.__version__, torchvision.__version__))
            f.write("static const uint32_t %s_input_seed = %d;\n" % (case, seed))
            f.write("static const double %s_loss = %.17g;\n" % (case, loss.item()))
            f.write("static const double %s_logits[] = {%s};\n" % (
                case, ", ".join("%.12g" % v for v in logits.detach().flatten().tolist())))
            write_stats(f, "%s_stats" % case, rows, tensors(model32))
        print(path, len(rows), "rows, loss", loss.item(), "input seed", seed)


if __name__ == "__main__":
    main()
