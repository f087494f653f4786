#!/usr/bin/python3
"""MoCo-v2 view pairs per second with torchvision and torch's DataLoader, and
the side-by-side table with bench_loader.c.

Worker mode (the default) reads the image folders bench_loader wrote under
--data DIR (png64/: ShapeScenes' pretrain images at 64 px as PNG; jpeg320/:
the first 256 at 320 px as JPEG) with MoCo-v2's pipeline as its main_moco.py
builds it: PIL images through RandomResizedCrop(size, scale=(0.2, 1)),
ColorJitter(0.4, 0.4, 0.4, 0.1) with p 0.8, RandomGrayscale(0.2), MoCo's
GaussianBlur (PIL ImageFilter.GaussianBlur, sigma ~ U(0.1, 2.0) * size / 224,
the scaling tensorgrad's tg_aug_pretrain_default uses) with p 0.5,
RandomHorizontalFlip, ToTensor, Normalize; two views per image
(TwoCropsTransform). A torch DataLoader (shuffle, drop_last) with
num_workers 0, 1, 2 is timed from iter() to its --pairs-th pair, as
bench_loader times tg_loader_new to its last batch. It prints RESULT lines
in bench_loader's format, with the CPU time per pair of this process and
its workers (from /proc, read before they stop) over the same span.

Compare mode (--compare BENCH_LOADER, what run_loader.sh runs) writes the
images into a temporary directory (bench_loader --data), runs bench_loader
and this worker as separate processes, alternating, --reps times, then
bench_loader's training-step part once (--reps rounds inside), prints one
Markdown table of medians, and removes the directory.

usage: bench_loader.py --data DIR [--pairs 1024] [--threads 2] [--only png,jpeg]
       bench_loader.py --compare BUILD/bench/bench_loader [--reps 3] [--pairs 1024]
                       [--images 1024] [--steps 10] [--warmup 3] [--threads 2]
"""
import argparse
import glob
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

JPEG_IMAGES = 256  # bench_data.h: BENCH_JPEG_IMAGES
JPEG_VIEW = 224    # bench_data.h: BENCH_JPEG_VIEW


class GaussianBlur:
    """MoCo's moco/loader.py GaussianBlur: PIL's blur with a random radius."""

    def __init__(self, sigma):
        self.sigma = sigma

    def __call__(self, x):
        from PIL import ImageFilter
        return x.filter(ImageFilter.GaussianBlur(radius=random.uniform(self.sigma[0], self.sigma[1])))


class TwoCrops:
    def __init__(self, t):
        self.t = t

    def __call__(self, x):
        return [self.t(x), self.t(x)]


def moco_v2(size):
    import torchvision.transforms as T
    k = size / 224.0
    return TwoCrops(T.Compose([
        T.RandomResizedCrop(size, scale=(0.2, 1.0)),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        T.RandomGrayscale(p=0.2),
        T.RandomApply([GaussianBlur([0.1 * k, 2.0 * k])], p=0.5),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ]))


class Folder:
    """Every image under root, sorted by path, opened as MoCo's ImageFolder does."""

    def __init__(self, root, transform):
        self.files = sorted(p for p in glob.glob(os.path.join(root, "**", "*"), recursive=True)
                            if p.lower().endswith((".png", ".jpg", ".jpeg")))
        self.transform = transform
        if not self.files:
            raise FileNotFoundError(f"no images under {root}")

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        from PIL import Image
        with open(self.files[i], "rb") as f:
            img = Image.open(f).convert("RGB")
        return self.transform(img)


def workers_cpu(it):
    """CPU seconds of the DataLoader iterator's worker processes so far."""
    ticks = 0
    for w in getattr(it, "_workers", []):
        with open(f"/proc/{w.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def time_pairs(ds, batch, workers, nbatches):
    """Pairs per second and CPU ms per pair (this process and its workers)
    from iter() to the nbatches-th batch."""
    import torch
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers,
                                         drop_last=True, generator=torch.Generator().manual_seed(1))
    t0, c0, cpu_done = time.perf_counter(), time.process_time(), 0.0
    it, got = iter(loader), 0
    while got < nbatches:
        try:
            next(it)
            got += 1
        except StopIteration:
            cpu_done += workers_cpu(it)
            it = iter(loader)
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0 + cpu_done + workers_cpu(it)
    del it
    return nbatches * batch / dt, 1e3 * cpu / (nbatches * batch)


def worker(a):
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    import torch
    import torchvision
    torch.set_num_threads(a.threads)
    random.seed(1)
    torch.manual_seed(1)
    rows = []
    if "png" in a.only:
        ds = Folder(os.path.join(a.data, "png64"), moco_v2(64))
        rows += [("png", 64, batch, w, ds, max(1, a.pairs // batch)) for batch in (32, 256) for w in (0, 1, 2)]
    if "jpeg" in a.only:
        ds = Folder(os.path.join(a.data, "jpeg320"), moco_v2(JPEG_VIEW))
        rows += [("jpeg", JPEG_VIEW, 32, w, ds, JPEG_IMAGES // 32) for w in (1, 2)]
    print(f"MoCo-v2 view pairs, torch {torch.__version__}, torchvision {torchvision.__version__}, "
          f"{torch.get_num_threads()} threads")
    for source, size, batch, w, ds, nb in rows:
        rate, cpu = time_pairs(ds, batch, w, nb)
        print(f"RESULT supply source={source} size={size} batch={batch} workers={w} pairs_per_s={rate:.1f} "
              f"cpu_ms_per_pair={cpu:.3f}", flush=True)
    return 0


def parse_results(out):
    rows = []
    for line in out.splitlines():
        if line.startswith("RESULT "):
            kind, *pairs = line.split()[1:]
            rows.append(dict([("kind", kind)] + [p.split("=", 1) for p in pairs]))
    if not rows:
        raise RuntimeError("no RESULT line in:\n" + out)
    return rows


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return parse_results(p.stdout)


def supply_key(r):
    return (r["source"], int(r["size"]), int(r["batch"]), int(r["workers"]))


def collect(results, into):
    """Appends each supply row's (pairs/s, CPU ms per pair) to into[key]."""
    for r in results:
        if r["kind"] == "supply":
            into.setdefault(supply_key(r), []).append((float(r["pairs_per_s"]), float(r["cpu_ms_per_pair"])))


def median(runs, i):
    return statistics.median(r[i] for r in runs) if runs else None


def fmt(v, spec=".0f"):
    return "-" if v is None else format(v, spec)


def print_table(tg, th, train):
    fixed = next(r for r in train if r["feed"] == "fixed")
    fed = {int(r["workers"]): r for r in train if r["feed"] == "loader"}
    print("| source | view px | batch | workers | tensorgrad pairs/s | torchvision pairs/s | tg/torchvision "
          "| tensorgrad CPU ms/pair | torchvision CPU ms/pair "
          "| ResNet-18 step fed by this loader, ms | of which waiting on it, ms | images/s consumed |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key in sorted(tg, key=lambda k: (k[0] != "fly", k[0] != "png", k[2], k[3])):
        t, p = median(tg[key], 0), median(th.get(key), 0)
        step = fed.get(key[3]) if key[0] == "fly" and key[1] == 64 and key[2] == 32 else None
        cells = [key[0], str(key[1]), str(key[2]), str(key[3]), fmt(t), fmt(p), fmt(p and t / p, ".2f"),
                 fmt(median(tg[key], 1), ".2f"), fmt(median(th.get(key), 1), ".2f"),
                 fmt(step and float(step["mean_ms"]), ".1f"), fmt(step and float(step["wait_ms"]), ".1f"),
                 fmt(step and float(step["images_per_s"]))]
        print("| " + " | ".join(cells) + " |")
    print(f"| fixed tensor (no loader) | 64 | 32 | - | - | - | - | - | - | {float(fixed['mean_ms']):.1f} | 0 "
          f"| {float(fixed['images_per_s']):.0f} |", flush=True)


def compare(a):
    common = ["--threads", str(a.threads), "--pairs", str(a.pairs)]
    tmp = tempfile.mkdtemp(prefix="bench_loader.")
    try:
        tg, th = {}, {}
        for rep in range(a.reps):  # alternate: a neighbour's load hits both alike
            collect(run([a.compare, "--data", tmp, "--reps", "1", "--images", str(a.images),
                         "--only", "fly,png,jpeg", "--quiet"] + common), tg)
            env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
            collect(run([sys.executable, os.path.abspath(__file__), "--data", tmp] + common, env), th)
            print(f"# rep {rep + 1}: " + ", ".join(
                f"{k[0]}/{k[2]}/{k[3]}w tg {tg[k][-1][0]:.0f} torch {th[k][-1][0]:.0f}" for k in tg if k in th),
                file=sys.stderr, flush=True)
        train = [r for r in run([a.compare, "--only", "train", "--reps", str(a.reps), "--steps", str(a.steps),
                                 "--warmup", str(a.warmup), "--images", str(a.images), "--quiet"] + common)
                 if r["kind"] == "train"]
        print_table(tg, th, train)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="the folder bench_loader --data wrote")
    p.add_argument("--pairs", type=int, default=1024)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", default="png,jpeg")
    p.add_argument("--compare", metavar="BENCH_LOADER", help="run the table against this bench_loader binary")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--images", type=int, default=1024)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    a = p.parse_args()
    if a.compare:
        return compare(a)
    if not a.data:
        p.error("--data DIR or --compare BENCH_LOADER")
    return worker(a)


if __name__ == "__main__":
    sys.exit(main())
