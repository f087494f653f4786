#!/usr/bin/python3
"""examples/gpt_chars.c's training in PyTorch, timed, and the side-by-side
table of training tokens a second.

Worker mode (the default) trains the same GPT (tools/make_fixtures_gpt.py:
pre-LN nn.TransformerEncoderLayer blocks under a causal mask, GELU MLP,
dropout --dropout, output tied to the token embedding) on the same text (Debian's licence
texts as byte tokens, the last tenth held out) with the same step: a
random batch, mean cross-entropy, backward, clip_grad_norm_ to 1, AdamW
(betas 0.9, 0.99; weight decay 0.1 on matrices only) on gpt_chars'
warm-up and cosine schedule, zero_grad(set_to_none=True). It prints
gpt_chars' lines: "step N ... T tokens/s" every --eval-every steps (the
tokens over the time spent in training steps so far) and "trained N steps
in S s: T tokens/s". Threads: torch.set_num_threads(n) and
OMP_NUM_THREADS=n.

Compare mode (--compare BUILD/examples/gpt_chars, what run_gpt.sh runs)
runs, for every thread count of --threads, gpt_chars and this worker
(and, with --torch-skx, the worker again with BLIS_ARCH_TYPE=0: PyTorch's
GEMMs go to Debian's BLIS, which picks its generic kernels on this CPU
unless told; tensorgrad selects the AVX-512 ones) as separate processes,
alternating, --reps times, each for --steps steps, and prints one Markdown
table of medians over the repetitions: tokens a second over the steps
after the first --eval-every (the warm-up), for each side, and the
ratios. gpt_chars exits 1 after a short run (its validation loss has not
yet beaten the unigram entropy); the table takes its timing lines as they are.

usage: bench_gpt.py [--layers 4] [--heads 4] [--dim 128] [--block 64] [--batch 32] [--dropout 0.1]
                    [--steps 60] [--eval-every 10] [--threads 2]
       bench_gpt.py --compare BUILD/examples/gpt_chars [--threads 1,2] [--reps 3]
                    [--torch-skx] [the options above]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from script_help import answer_help  # noqa: E402

if __name__ == "__main__":
    answer_help(__doc__)

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

from make_fixtures_gpt import GPT, adamw  # noqa: E402

TEXTS = ["GPL-3", "GPL-2", "GPL-1", "LGPL-3", "LGPL-2.1", "LGPL-2", "GFDL-1.3", "GFDL-1.2", "Apache-2.0",
         "Artistic", "MPL-2.0", "MPL-1.1", "BSD", "CC0-1.0"]
LR, MIN_LR, WARMUP, WEIGHT_DECAY, CLIP = 1e-3, 1e-4, 100, 0.1, 1.0


def corpus():
    """gpt_chars' default text as token ids (bytes in byte order), and the vocabulary's size."""
    data = b"".join(open(os.path.join("/usr/share/common-licenses", n), "rb").read() for n in TEXTS)
    vocab = sorted(set(data))
    index = {b: i for i, b in enumerate(vocab)}
    return torch.tensor([index[b] for b in data], dtype=torch.int64), len(vocab)


def learning_rate(step, steps):
    if step < WARMUP:
        return LR * (step + 1) / WARMUP
    return MIN_LR + (LR - MIN_LR) * (1 + math.cos(math.pi * (step - WARMUP) / (steps - WARMUP))) / 2


def worker(a):
    torch.set_num_threads(a.threads[0])
    torch.manual_seed(0)
    tokens, vocab = corpus()
    n_train = len(tokens) - len(tokens) // 10
    model = GPT(vocab, a.layers, a.heads, a.dim, a.block, a.dropout)
    opt = adamw(model, WEIGHT_DECAY, LR)
    params = list(model.parameters())
    busy = 0.0
    for step in range(a.steps):
        start = time.perf_counter()
        first = torch.randint(0, n_train - a.block - 1, (a.batch,))
        window = first[:, None] + torch.arange(a.block + 1)
        batch = tokens[window]
        loss = model.loss(batch[:, :-1], batch[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, a.steps)
        opt.step()
        opt.zero_grad(set_to_none=True)
        busy += time.perf_counter() - start
        if (step + 1) % a.eval_every == 0 or step + 1 == a.steps:
            print(f"step {step + 1:5d}  train loss {loss.item():.4f}  "
                  f"{(step + 1) * a.batch * a.block / busy:.0f} tokens/s", flush=True)
    print(f"trained {a.steps} steps in {busy:.1f} s: {a.steps * a.batch * a.block / busy:.0f} tokens/s")
    return 0


def steady_rate(out, a):
    """Tokens a second over the steps after the first eval_every, from the
    cumulative rates printed at step eval_every and at the last step."""
    rates = {int(s): float(r) for s, r in re.findall(r"^step\s+(\d+)\s.*\s(\d+) tokens/s$", out, re.M)}
    if a.eval_every not in rates or a.steps not in rates:
        raise RuntimeError("no timing lines in:\n" + out)
    tokens = a.batch * a.block
    warm, total = a.eval_every * tokens / rates[a.eval_every], a.steps * tokens / rates[a.steps]
    return (a.steps - a.eval_every) * tokens / (total - warm)


def run(cmd, threads, a, extra=None):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), **(extra or {}))
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode not in (0, 1) or "trained" not in p.stdout:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return steady_rate(p.stdout, a)


def compare(a):
    model = ["--layers", str(a.layers), "--heads", str(a.heads), "--dim", str(a.dim), "--block", str(a.block),
             "--batch", str(a.batch), "--dropout", str(a.dropout), "--steps", str(a.steps),
             "--eval-every", str(a.eval_every)]
    columns = [("PyTorch", {})] + ([("PyTorch skx", {"BLIS_ARCH_TYPE": "0"})] if a.torch_skx else [])
    rows = []
    for threads in a.threads:
        tg, th = [], {name: [] for name, _ in columns}
        for rep in range(a.reps):  # alternating: a neighbour's load hits both alike
            tg.append(run([a.compare, "--sample", "0", "--threads", str(threads)] + model, threads, a))
            for name, extra in columns:
                cmd = [sys.executable, os.path.abspath(__file__), "--threads", str(threads)] + model
                th[name].append(run(cmd, threads, a, extra))
            print(f"# threads {threads} rep {rep + 1}: tensorgrad {tg[-1]:.0f} tokens/s, " +
                  ", ".join(f"{n} {th[n][-1]:.0f}" for n, _ in columns), file=sys.stderr, flush=True)
        rows.append((threads, statistics.median(tg), [statistics.median(th[n]) for n, _ in columns]))
    print(f"GPT {a.layers} layers, {a.heads} heads, width {a.dim}, context {a.block}, batch {a.batch}; "
          f"tokens/s over steps {a.eval_every + 1}-{a.steps}, medians of {a.reps} processes each; "
          f"CPU {cpu_model()}\n")
    head = "| threads | tensorgrad tokens/s | " + " | ".join(f"{n} tokens/s" for n, _ in columns)
    head += " | " + " | ".join(f"ratio tg/{n}" for n, _ in columns) + " |"
    print(head)
    print("|" + "---:|" * (head.count("|") - 1))
    for threads, tg, th in rows:
        cells = [str(threads), f"{tg:.0f}"] + [f"{v:.0f}" for v in th] + [f"{tg / v:.2f}" for v in th]
        print("| " + " | ".join(cells) + " |", flush=True)
    return 0


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--block", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--eval-every", type=int, default=10)
    p.add_argument("--threads", default="2")
    p.add_argument("--compare", metavar="GPT_CHARS", help="run the table against this gpt_chars binary")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--torch-skx", action=argparse.BooleanOptionalAction, default=True,
                   help="compare with torch under BLIS_ARCH_TYPE=0 too (--no-torch-skx: not)")
    a = p.parse_args()
    a.threads = [int(t) for t in a.threads.split(",")]
    return compare(a) if a.compare else worker(a)


if __name__ == "__main__":
    sys.exit(main())
