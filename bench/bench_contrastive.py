#!/usr/bin/python3
"""MoCo-v2 and DenseCL pretraining steps in PyTorch, timed, and the
side-by-side table with bench_contrastive.c.

Worker mode (the default) times the step bench_contrastive.c times, written
the way the official MoCo-v2 (moco/builder.py) and DenseCL (densecl.py)
write it, on one device: torchvision's ResNet-18 rebuilt at --width with
the small stem (3x3 stride-1 conv, no max pool; tools/make_fixtures_fcn.py's
backbone), every BatchNorm a SplitBatchNorm of --groups groups (MoCo's
efficient form: the batch seen as N/G images of G*C channels, weight and
bias repeated G times, the running statistics the mean of the groups'),
the necks of models/contrastive.c (mlp: Linear-ReLU-Linear on the pooled
C5; DenseCL's mlp2: 1x1 conv-ReLU-1x1 conv per cell; hidden = C5's
channels, dim 128). One step: the query encoder; the key encoder's
momentum update (0.99) and its forward on the shuffled key batch
(torch.randperm, outputs un-shuffled), without gradients; InfoNCE (tau
0.2) of [q.k, q queue^T] against the queue of --queue keys; DenseCL adds
the matching (argmax of the cosine similarity of the backbones' C5 cells),
the dense InfoNCE over all N S^2 cells against the dense queue, and
L = 0.5 L_g + 0.5 L_d; the keys enqueued after the losses; backward, SGD
(lr 0.03, momentum 0.9, weight decay 1e-4) on the query encoder, and
zero_grad(set_to_none=True), on one random pair of views. Threads:
torch.set_num_threads(n) and OMP_NUM_THREADS=n. It prints each method's
median step time, images per second (batch / step time), the query
encoder's parameter count, and a RESULT line (moco_ms=, densecl_ms=,
moco_params=, densecl_params=).

Compare mode (--compare BENCH_CONTRASTIVE, what run_contrastive.sh runs)
runs, for every thread count of --threads and every method, the C
benchmark and this worker as separate processes (one method each),
alternating, --reps times, and prints one Markdown table of medians over
the repetitions of each process's median step time: per method and thread
count, both step times and images per second, their ratio, tensorgrad's
GFLOP/s (its count of a step's arithmetic over its step time) and the
share of the FMA peak at that thread count. Above the table: the CPU
model, the peak that bench_contrastive measured in the same run (its FMA
loop at 1 thread and at each thread count, its streaming copy; the best
over its runs), both sides' parameter counts and the command.

usage: bench_contrastive.py [--width 0.25] [--size 64] [--batch 64] [--queue 4096]
                            [--groups 8] [--threads 2] [--steps 6] [--warmup 2]
                            [--method both|moco|densecl]
       bench_contrastive.py --compare BUILD/bench/bench_contrastive [--threads 1,2]
                            [--reps 3] [the options above]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from script_help import answer_help  # noqa: E402

if __name__ == "__main__":
    answer_help(__doc__)

import argparse  # noqa: E402
import re  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import make_fixtures_contrastive as fixtures  # noqa: E402
from make_fixtures_fcn import backbone  # noqa: E402

METHODS = {"moco": "MoCo-v2", "densecl": "DenseCL"}  # --method's names, RESULT's keys
DIM, TAU, KEY_MOMENTUM, LAMBDA = 128, 0.2, 0.99, 0.5
LR, SGD_MOMENTUM, WEIGHT_DECAY = 0.03, 0.9, 1e-4


class SplitBatchNorm(fixtures.SplitBatchNorm):
    """MoCo's SplitBatchNorm, the efficient form of the fixtures' loop over
    the groups: in training, statistics per group of N/G images (image n in
    group n mod G), as one batch_norm over N/G images of G*C channels; the
    running statistics move by the groups' mean."""

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        n, c, h, w = x.shape
        g = self.groups
        mean, var = self.running_mean.repeat(g), self.running_var.repeat(g)
        out = F.batch_norm(x.view(-1, c * g, h, w), mean, var, self.weight.repeat(g), self.bias.repeat(g),
                           True, self.momentum, self.eps).view(n, c, h, w)
        self.running_mean.data.copy_(mean.view(g, c).mean(0))
        self.running_var.data.copy_(var.view(g, c).mean(0))
        return out


class Neck(nn.Module):
    """mlp on the pooled C5; with dense, DenseCL's mlp2 per cell."""

    def __init__(self, cin, hidden, out, dense):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(cin, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out))
        self.mlp2 = nn.Sequential(nn.Conv2d(cin, hidden, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(hidden, out, 1)) if dense else None


def encoder(a, dense):
    b, _, channels = backbone(18, a.width, True, False)
    return nn.Sequential(fixtures.split_bn(b, a.groups, SplitBatchNorm), Neck(channels, channels, DIM, dense))


def info_nce(q, k, queue):
    """Cross-entropy of the rows of [q.k, q queue^T] / tau against column 0."""
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.clone().T], 1) / TAU
    return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.int64))


def cell_rows(d):
    """(N, D, S^2) as (N S^2, D), row n S^2 + i."""
    return d.permute(0, 2, 1).reshape(-1, d.size(1))


class Contrastive(nn.Module):
    """MoCo-v2, or DenseCL with dense: both encoders, the queues as rows
    (K, D) as tensorgrad keeps them, and one step's loss as forward."""

    def __init__(self, a, dense):
        super().__init__()
        self.dense = dense
        self.encoder_q, self.encoder_k = encoder(a, dense), encoder(a, dense)
        self.encoder_k.load_state_dict(self.encoder_q.state_dict())
        self.encoder_k.requires_grad_(False)
        self.register_buffer("queue", F.normalize(torch.randn(a.queue, DIM), dim=1))
        if dense:
            self.register_buffer("queue_dense", F.normalize(torch.randn(a.queue, DIM), dim=1))
        self.queue_ptr = 0

    def embed(self, enc, x, key):
        """g, the dense rows' (N, D, S^2) map d and (keys) its pooled p, all
        normalised, and C5's cells normalised (N, C, S^2) for the matching."""
        f = fixtures.c5(enc[0], x)
        g = F.normalize(enc[1].mlp(F.adaptive_avg_pool2d(f, 1).flatten(1)), dim=1)
        if not self.dense:
            return g, None, None, None
        dense = enc[1].mlp2(f)
        p = F.normalize(F.adaptive_avg_pool2d(dense, 1).flatten(1), dim=1) if key else None
        with torch.no_grad():
            cells = F.normalize(f.flatten(2), dim=1)
        return g, F.normalize(dense.flatten(2), dim=1), p, cells

    @torch.no_grad()
    def key_embeddings(self, im_k):
        for pq, pk in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
            pk.mul_(KEY_MOMENTUM).add_(pq, alpha=1 - KEY_MOMENTUM)
        perm = torch.randperm(len(im_k))
        unshuffle = torch.argsort(perm)
        return [t if t is None else t[unshuffle] for t in self.embed(self.encoder_k, im_k[perm], True)]

    @torch.no_grad()
    def enqueue(self, g_k, p_k):
        ptr, n = self.queue_ptr, len(g_k)
        self.queue[ptr:ptr + n] = g_k
        if self.dense:
            self.queue_dense[ptr:ptr + n] = p_k
        self.queue_ptr = (ptr + n) % len(self.queue)

    def forward(self, im_q, im_k):
        g_q, d_q, _, cells_q = self.embed(self.encoder_q, im_q, False)
        g_k, d_k, p_k, cells_k = self.key_embeddings(im_k)
        loss = info_nce(g_q, g_k, self.queue)
        if self.dense:
            with torch.no_grad():
                match = (cells_q.transpose(1, 2) @ cells_k).max(dim=2)[1]
                d_pos = torch.gather(d_k, 2, match.unsqueeze(1).expand(-1, d_k.size(1), -1))
            loss_d = info_nce(cell_rows(d_q), cell_rows(d_pos), self.queue_dense)
            loss = (1 - LAMBDA) * loss + LAMBDA * loss_d
        self.enqueue(g_k, p_k)
        return loss


class Runner:
    """One method's model, optimizer and timed steps."""

    def __init__(self, a, method):
        self.method = method
        self.model = Contrastive(a, method == "densecl").train()
        self.opt = torch.optim.SGD(self.model.encoder_q.parameters(), lr=LR, momentum=SGD_MOMENTUM,
                                   weight_decay=WEIGHT_DECAY)
        self.params = sum(p.numel() for p in self.model.encoder_q.parameters())
        self.ms = []

    def step(self, im_q, im_k, timed):
        t0 = time.perf_counter()
        loss = self.model(im_q, im_k)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        if timed:
            self.ms.append(1e3 * (time.perf_counter() - t0))


def worker(a):
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))  # read by BLIS (the Linear layers) at its first call
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    runners = [Runner(a, m) for m in METHODS if a.method in ("both", m)]
    im_q, im_k = (torch.randn(a.batch, 3, a.size, a.size) for _ in range(2))
    for it in range(a.warmup + a.steps):
        for k in range(len(runners)):  # which method goes first alternates
            runners[(it + k) % len(runners)].step(im_q, im_k, it >= a.warmup)
    w = round(64 * a.width)
    mkldnn = torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled
    print(f"PyTorch {torch.__version__}: ResNet-18 width {a.width:g} (channels {w},{2 * w},{4 * w},{8 * w}), "
          f"small stem, {a.size}x{a.size} (S {a.size // 8}), batch {a.batch}, K {a.queue}, {a.groups} BN groups, "
          f"{torch.get_num_threads()} threads, median of {a.steps} steps; convolutions: "
          f"{'oneDNN (mkldnn)' if mkldnn else 'native (im2col + BLAS)'}")
    fields = []
    for r in runners:
        med = statistics.median(r.ms)
        print(f"{METHODS[r.method]} step  {med:9.1f} ms (min {min(r.ms):.1f})  "
              f"{a.batch * 1e3 / med:7.1f} images/s  {r.params} parameters")
        fields += [f"{r.method}_ms={med:.2f}", f"{r.method}_params={r.params}"]
    print("RESULT " + " ".join(fields))
    return 0


# ---- compare mode ----

def parse_result(out):
    """RESULT's numbers, and the C program's CPU and FMA-loop lines."""
    found = {}
    for line in out.splitlines():
        if line.startswith("RESULT "):
            found["result"] = True
            found.update({k: float(v) for k, v in re.findall(r"(\w+)=([-\d.]+)", line)})
        elif line.startswith("CPU: "):
            found["cpu"] = line[len("CPU: "):]
        elif m := re.search(r"FMA loop \((\S+)\)", line):
            found["isa"] = m.group(1)
    if "result" not in found:
        raise RuntimeError("no RESULT line in:\n" + out)
    return found


def run(cmd, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return parse_result(p.stdout)


def time_both(a, method, threads):
    """--reps runs of each side, alternating: (tensorgrad's, PyTorch's) RESULTs."""
    args = ["--width", str(a.width), "--size", str(a.size), "--batch", str(a.batch), "--queue", str(a.queue),
            "--groups", str(a.groups), "--steps", str(a.steps), "--warmup", str(a.warmup),
            "--threads", str(threads), "--method", method]
    tg, th = [], []
    for rep in range(a.reps):  # alternate: a neighbour's load hits both alike
        tg.append(run([a.compare] + args, threads))
        th.append(run([sys.executable, os.path.abspath(__file__)] + args, threads))
        print(f"# {METHODS[method]} threads {threads} rep {rep + 1}: tensorgrad {tg[-1][method + '_ms']:.1f} ms, "
              f"PyTorch {th[-1][method + '_ms']:.1f} ms", file=sys.stderr, flush=True)
    return tg, th


def param_counts(runs, method, side):
    """The parameter counts side (0 tensorgrad, 1 PyTorch) reported for method."""
    return sorted({int(r[method + "_params"]) for (m, _), pair in runs.items() if m == method for r in pair[side]})


def print_machine(a, runs):
    """The lines above the table, from the runs {(method, threads): (tensorgrad's, PyTorch's)}."""
    tg = [r for t, _ in runs.values() for r in t]
    at = {n: [r for r in tg if r["threads"] == n] for n in a.threads}
    fma = [f"{max(r['peak_fma_1t_gflops'] for r in tg):.1f} GFLOP/s on 1 thread"]
    fma += [f"{max(r['peak_fma_gflops'] for r in at[n]):.1f} on {n} threads" for n in a.threads if n != 1]
    copy = [f"{max(r['copy_gbs'] for r in at[n]):.1f} GB/s on {n} thread{'s' if n > 1 else ''}" for n in a.threads]
    print(f"- CPU: {tg[0]['cpu']}")
    print(f"- measured peak (bench_contrastive, best of its runs): FMA loop ({tg[0]['isa']}) {', '.join(fma)}; "
          f"streaming copy (read + written) {', '.join(copy)}")
    for method in sorted({m for m, _ in runs}, key=list(METHODS).index):
        tg_n, th_n = param_counts(runs, method, 0), param_counts(runs, method, 1)
        print(f"- {METHODS[method]} parameters (query encoder): tensorgrad {'/'.join(map(str, tg_n))}, "
              f"PyTorch {'/'.join(map(str, th_n))}" + ("" if tg_n == th_n else " (they differ: not the same network)"))
    print(f"- ResNet-18 width {a.width:g}, small stem, {a.size}x{a.size}, batch {a.batch}, K {a.queue}, "
          f"{a.groups} BN groups; medians over {a.reps} runs of each process's median of {a.steps} steps "
          f"after {a.warmup} warm-up")
    print(f"- command: {shlex.join([sys.executable] + sys.argv)}")
    print()


def print_table(a, runs):
    tg_all = [r for t, _ in runs.values() for r in t]
    peak = {n: max(r["peak_fma_gflops"] for r in tg_all if r["threads"] == n) for n in a.threads}
    head = ("| method | threads | tensorgrad ms | PyTorch ms | tensorgrad images/s | PyTorch images/s "
            "| ratio tg/PyTorch (images/s) | tensorgrad GFLOP/s | % of FMA peak |")
    print(head)
    print("|---|" + "---:|" * (head.count("|") - 2))
    for (method, threads), (tg, th) in runs.items():
        t = statistics.median(r[method + "_ms"] for r in tg)
        p = statistics.median(r[method + "_ms"] for r in th)
        gflops = tg[0][method + "_gflop"] / t * 1e3
        cells = [METHODS[method], str(threads), f"{t:.1f}", f"{p:.1f}", f"{a.batch * 1e3 / t:.1f}",
                 f"{a.batch * 1e3 / p:.1f}", f"{p / t:.2f}", f"{gflops:.1f}", f"{100 * gflops / peak[threads]:.1f}"]
        print("| " + " | ".join(cells) + " |", flush=True)


def compare(a):
    methods = [m for m in METHODS if a.method in ("both", m)]
    runs = {(m, n): time_both(a, m, n) for n in a.threads for m in methods}
    print_machine(a, runs)
    print_table(a, runs)
    return 0


def main():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--queue", type=int, default=4096)
    p.add_argument("--groups", type=int, default=8)
    p.add_argument("--threads", default="2")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--method", choices=["both", *METHODS], default="both")
    p.add_argument("--compare", metavar="BENCH_CONTRASTIVE")
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    a.threads = [int(t) for t in a.threads.split(",")]
    if a.compare:
        return compare(a)
    a.threads = a.threads[0]
    return worker(a)


if __name__ == "__main__":
    sys.exit(main())
