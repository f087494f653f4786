#!/usr/bin/python3
"""One ResNet training step in PyTorch, timed, and the side-by-side table.

Worker mode (the default) times the step bench_resnet.c times: torchvision's
resnet18 (--depth 50: resnet50) in train mode, forward, F.cross_entropy(ignore_index=-100),
backward, SGD (lr 0.01, momentum 0.9, weight decay 1e-4) and
zero_grad(set_to_none=True) (tensorgrad's zero_grad drops the gradients
too), on one random batch, with torch.set_num_threads(n). It prints the
median step time and the peak RSS (getrusage), and a RESULT line.

Compare mode (--compare BENCH_RESNET, what run_resnet.sh runs) runs, for
every size and thread count, the C benchmark and this worker as separate
processes, alternating, --reps times each, and prints one Markdown table of
medians over the repetitions of each process's median step time.

Debian's torch does its GEMMs (the fc layer, here) in the system libblas
(BLIS with generic kernels on this CPU, threads from OMP_NUM_THREADS), but
its convolutions go through oneDNN (mkldnn) JIT kernels, which pick AVX-512
by themselves: the worker prints which path convolutions take.
In compare mode a second PyTorch column runs torch with BLIS_ARCH_TYPE=0
(BLIS's skx kernels, those tensorgrad selects); --no-torch-skx skips it.

usage: bench_resnet.py [--depth 18|50] [--batch 32] [--size 64] [--threads 2] [--steps 10]
                       [--warmup 3] [--classes 1000] [--profile]
       bench_resnet.py --compare BUILD/bench/bench_resnet [--depth 18|50] [--sizes 64,96]
                       [--threads 1,2] [--reps 3] [--steps 8] [--warmup 3]
                       [--no-torch-skx]
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time


def rss_now():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def worker(a):
    rss_start = rss_now()
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    import torch
    import torch.nn.functional as F
    import torchvision

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rss_import = rss_now()
    model = getattr(torchvision.models, f"resnet{a.depth}")(num_classes=a.classes)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(a.batch, 3, a.size, a.size)
    labels = torch.randint(0, a.classes, (a.batch,))
    mkldnn = torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled
    print(f"ResNet-18 (torchvision), {a.classes} classes, batch {a.batch}, {a.size}x{a.size}, "
          f"{torch.get_num_threads()} threads; torch {torch.__version__}; convolutions: "
          f"{'oneDNN (mkldnn)' if mkldnn else 'native (im2col + BLAS)'}; "
          f"BLIS_ARCH_TYPE={os.environ.get('BLIS_ARCH_TYPE', 'auto')}")

    def step():
        logits = model(x)
        loss = F.cross_entropy(logits, labels, ignore_index=-100)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    for i in range(a.warmup):
        t0 = time.perf_counter()
        loss = step()
        if not a.quiet:
            print(f"warm-up {i + 1}: {1e3 * (time.perf_counter() - t0):8.1f} ms  loss {loss:.4f}")
    ms, rss = [], []
    prof = None
    if a.profile:
        prof = torch.autograd.profiler.profile()
        prof.__enter__()
    for i in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        ms.append(1e3 * (time.perf_counter() - t0))
        rss.append(rss_now())
        if not a.quiet:
            print(f"step {i + 1}: {ms[-1]:8.1f} ms  loss {loss:.4f}")
    if prof:
        prof.__exit__(None, None, None)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30))
    med = statistics.median(ms)
    mib = 1024.0 * 1024.0
    print(f"median step {med:.1f} ms (min {min(ms):.1f}) over {a.steps} steps after {a.warmup} warm-up")
    print(f"peak RSS {rss_peak() / mib:.1f} MB ({rss_import / mib:.1f} MB after import, "
          f"{rss_start / mib:.1f} MB at start)")
    print(f"resident set after timed step 1 / {a.steps}: {rss[0] / mib:.1f} MB / {rss[-1] / mib:.1f} MB")
    print(f"RESULT median_ms={med:.3f} min_ms={min(ms):.3f} rss_peak_mb={rss_peak() / mib:.1f} "
          f"rss_import_mb={rss_import / mib:.1f} rss_first_mb={rss[0] / mib:.1f} "
          f"rss_last_mb={rss[-1] / mib:.1f} mkldnn={int(mkldnn)}")
    return 0


def parse_result(out):
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return {k: float(v) for k, v in re.findall(r"(\w+)=([-\d.]+)", line)}
    raise RuntimeError("no RESULT line in:\n" + out)


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return parse_result(p.stdout)


def compare(a):
    common = ["--depth", str(a.depth), "--batch", str(a.batch), "--steps", str(a.steps), "--warmup", str(a.warmup),
              "--classes", str(a.classes), "--quiet"]
    columns = [("PyTorch", {})]
    if a.torch_skx:
        columns.append(("PyTorch skx", {"BLIS_ARCH_TYPE": "0"}))
    rows = []
    for size in a.sizes:
        for threads in a.threads:
            args = common + ["--size", str(size), "--threads", str(threads)]
            tg, th = [], {name: [] for name, _ in columns}
            for rep in range(a.reps):  # alternate: a neighbour's load hits both alike
                tg.append(run([a.compare] + args))
                for name, extra in columns:
                    env = dict(os.environ, OMP_NUM_THREADS=str(threads), **extra)
                    th[name].append(run([sys.executable, os.path.abspath(__file__)] + args, env))
                print(f"# size {size} threads {threads} rep {rep + 1}: tensorgrad "
                      f"{tg[-1]['median_ms']:.1f} ms, " +
                      ", ".join(f"{n} {th[n][-1]['median_ms']:.1f} ms" for n, _ in columns),
                      file=sys.stderr, flush=True)
            rows.append((size, threads, tg, th))
    print(f"ResNet-{a.depth}, batch {a.batch}, {a.classes} classes\n")
    head = "| size | threads | tensorgrad ms | " + " | ".join(f"{n} ms" for n, _ in columns)
    head += " | " + " | ".join(f"ratio tg/{n}" for n, _ in columns)
    head += " | tensorgrad peak MB (tg in use) | " + " | ".join(f"{n} peak MB (over import)" for n, _ in columns)
    head += " | tg growth after warm-up: in use, heap, RSS (MB), new blocks |"
    print(head)
    print("|" + "---:|" * (head.count("|") - 1))
    for size, threads, tg, th in rows:
        t = statistics.median(r["median_ms"] for r in tg)
        tms = [statistics.median(r["median_ms"] for r in th[n]) for n, _ in columns]
        cells = [f"{size}x{size}", str(threads), f"{t:.1f}"] + [f"{v:.1f}" for v in tms]
        cells += [f"{t / v:.2f}" for v in tms]
        cells += [f"{max(r['rss_peak_mb'] for r in tg):.0f} ({max(r['tg_peak_mb'] for r in tg):.0f})"]
        cells += [f"{max(r['rss_peak_mb'] for r in th[n]):.0f} "
                  f"({max(r['rss_peak_mb'] - r['rss_import_mb'] for r in th[n]):.0f})" for n, _ in columns]
        grow = [max(r[k + "_last_mb"] - r[k + "_first_mb"] for r in tg) for k in ("tg_in_use", "heap", "rss")]
        fresh = max(r["fresh_blocks_after_first"] for r in tg)
        cells += [", ".join(f"{g:+.1f}" for g in grow) + f", {fresh:.0f}"]
        print("| " + " | ".join(cells) + " |", flush=True)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--depth", type=int, choices=(18, 50), default=18)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--threads", default="2")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--profile", action="store_true",
                   help="print torch.autograd.profiler's table of the timed steps (slows them)")
    p.add_argument("--compare", metavar="BENCH_RESNET", help="run the table against this bench_resnet binary")
    p.add_argument("--sizes", default="64,96")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--torch-skx", action=argparse.BooleanOptionalAction, default=True,
                   help="also run torch with BLIS_ARCH_TYPE=0 (default; --no-torch-skx skips it)")
    a = p.parse_args()
    if a.compare:
        a.sizes = [int(s) for s in a.sizes.split(",")]
        a.threads = [int(t) for t in a.threads.split(",")]
        return compare(a)
    a.threads = int(a.threads)
    return worker(a)


if __name__ == "__main__":
    sys.exit(main())
