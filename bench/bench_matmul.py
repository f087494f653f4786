#!/usr/bin/python3
"""tensorgrad's matmul against raw BLIS and PyTorch, one table.

Runs the C benchmark (bench_matmul: tg_matmul, tg_gemm_ and raw
bli_sgemm on the same buffers), then times torch.matmul on the same shapes,
layouts and thread counts, and prints a Markdown table of GFLOP/s (medians)
with the ratios tensorgrad/BLIS and tensorgrad/PyTorch. Use run_matmul.sh,
which builds the C side first.

PyTorch runs in worker processes, one per thread count, with
torch.set_num_threads(n) and OMP_NUM_THREADS=n: Debian's torch does its
GEMMs in the system libblas (BLIS), which takes its thread count from the
environment, not from torch.set_num_threads. Each runs twice: as installed
(BLIS picks 'generic' kernels on this CPU) and with BLIS_ARCH_TYPE=0 (skx,
the kernels tensorgrad selects), so the second column compares like with
like.

usage: bench_matmul.py --bench BUILD/bench/bench_matmul [--threads 1,2] [--reps 9]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def torch_gflops(m, n, k, ta, tb, threads, reps):
    """Median GFLOP/s of torch.matmul for (m,k) @ (k,n); ta/tb: operand is a
    transposed view of a contiguous tensor, as in the C benchmark."""
    import torch

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(42)
    a = torch.randn(k, m, generator=g).t() if ta else torch.randn(m, k, generator=g)
    b = torch.randn(n, k, generator=g).t() if tb else torch.randn(k, n, generator=g)
    times = []
    with torch.no_grad():
        for r in range(reps + 2):  # two warm-up rounds
            t0 = time.perf_counter()
            c = torch.matmul(a, b)
            del c  # its allocation and release count, as for tg_matmul
            t1 = time.perf_counter()
            if r >= 2:
                times.append(t1 - t0)
    return 2.0 * m * n * k / statistics.median(times) * 1e-9


def torch_worker(spec):
    """Times the shapes in spec (JSON) and prints their GFLOP/s as JSON."""
    job = json.loads(spec)
    out = [torch_gflops(m, n, k, ta, tb, job["threads"], job["reps"])
           for m, n, k, ta, tb in job["shapes"]]
    print(json.dumps({"gflops": out, "blis_arch": os.environ.get("BLIS_ARCH_TYPE", "auto")}))
    return 0


def torch_column(rows, reps, arch):
    """PyTorch GFLOP/s for every row, from one worker per thread count;
    arch: BLIS_ARCH_TYPE for the worker, or None for the installed default."""
    result = {}
    for threads in sorted({r["threads"] for r in rows}):
        mine = [r for r in rows if r["threads"] == threads]
        job = {"threads": threads, "reps": reps,
               "shapes": [[r["m"], r["n"], r["k"], r["ta"], r["tb"]] for r in mine]}
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), BLIS_NUM_THREADS=str(threads))
        env.pop("BLIS_ARCH_TYPE", None)
        if arch is not None:
            env["BLIS_ARCH_TYPE"] = arch
        run = subprocess.run([sys.executable, __file__, "--torch-worker", json.dumps(job)],
                             stdout=subprocess.PIPE, text=True, check=True, env=env)
        for r, g in zip(mine, json.loads(run.stdout)["gflops"]):
            result[id(r)] = g
    return [result[id(r)] for r in rows]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", help="path of the bench_matmul executable")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--torch-worker", metavar="JSON", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        return torch_worker(args.torch_worker)
    if not args.bench:
        ap.error("--bench is required")
    import torch  # here, not at the top: --help needs no PyTorch

    run = subprocess.run([args.bench, "--threads", args.threads, "--reps", str(args.reps)],
                         stdout=subprocess.PIPE, text=True, check=True)
    rows, header = [], []
    for line in run.stdout.splitlines():
        if line.startswith("#"):
            header.append(line[1:].strip())
        elif line.startswith("RESULT "):
            f = line.split()
            rows.append(dict(name=f[1], m=int(f[2]), n=int(f[3]), k=int(f[4]), ta=f[5] == "1",
                             tb=f[6] == "1", threads=int(f[7]), tg=float(f[8]), into=float(f[9]),
                             blis=float(f[10])))
    for r, a, b in zip(rows, torch_column(rows, args.reps, None), torch_column(rows, args.reps, "0")):
        r["torch"], r["torch_skx"] = a, b

    print(f"{'; '.join(header)}; PyTorch {torch.__version__}; GFLOP/s, median of {args.reps}\n")
    print("| shape | M | N | K | thr | tg_matmul | tg_gemm_ | raw BLIS | PyTorch | PyTorch skx "
          "| matmul/BLIS | matmul/PyTorch | matmul/PyTorch skx |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        op = "A^T" if r["ta"] else ("B^T" if r["tb"] else "")
        name = r["name"] + (f" ({op})" if op else "")
        print(f"| {name} | {r['m']} | {r['n']} | {r['k']} | {r['threads']} | {r['tg']:.1f} "
              f"| {r['into']:.1f} | {r['blis']:.1f} | {r['torch']:.1f} | {r['torch_skx']:.1f} "
              f"| {r['tg'] / r['blis']:.2f} | {r['tg'] / r['torch']:.2f} | {r['tg'] / r['torch_skx']:.2f} |")
    print("\nGFLOP/s = 2MNK / median time; ratios above 1 favour tensorgrad.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
