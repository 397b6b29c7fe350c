"""Convolution / pooling micro-benchmarks: the LeNet-5 conv and pool layers (batch 64,
1x28x28: conv 6@5x5, relu, maxpool 2, conv 16@5x5, relu, maxpool 2), forward + backward, and a
full LeNet-5 training step (forward, cross-entropy, backward), ember against PyTorch eager.

ember and PyTorch run alternately and the minimum over the runs is kept, which filters out
other processes' noise. Two settings: both on 2 threads (wall time), and both on 1 thread
(CPU time: the work done, independent of how the threads are scheduled).

    .venv/bin/python bench/conv_micro.py [--runs 60] [--no-direct]

``--no-direct`` turns off the direct C convolution (``ember.native.conv``), so that its
im2col + GEMM alternative can be compared.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import clean_blas_env  # noqa: E402

clean_blas_env()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402
from common import blas_info, fmt_time, machine  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import ember  # noqa: E402
import ember.nn.functional as F  # noqa: E402
from ember.native import parallel  # noqa: E402

SHAPES = [
    (6, 1, 5, 5),
    (6,),
    (16, 6, 5, 5),
    (16,),
    (120, 256),
    (120,),
    (84, 120),
    (84,),
    (10, 84),
    (10,),
]


def params(lib, rng, shapes):
    return [
        lib.tensor(rng.standard_normal(s).astype(np.float32) * 0.1, requires_grad=True)
        for s in shapes
    ]


def features(f, x, p):
    y = f.max_pool2d(f.relu(f.conv2d(x, p[0], p[1])), 2)
    return f.max_pool2d(f.relu(f.conv2d(y, p[2], p[3])), 2)


def lenet(f, x, p):
    y = features(f, x, p).reshape(x.shape[0], -1)
    y = f.relu(f.linear(y, p[4], p[5]))
    y = f.relu(f.linear(y, p[6], p[7]))
    return f.linear(y, p[8], p[9])


def step(f, x, t, p, body):
    for q in p:
        q.grad = None
    out = body(f, x, p)
    loss = f.cross_entropy(out, t) if body is lenet else (out * out).sum()
    loss.backward()


def alternate(fe, ft, runs, clock):
    """Minimum time of ``fe`` and ``ft`` run alternately ``runs`` times each."""
    fe(), ft()
    te, tt = [], []
    for _ in range(runs):
        t0 = clock()
        fe()
        te.append(clock() - t0)
        t0 = clock()
        ft()
        tt.append(clock() - t0)
    return min(te), min(tt)


def measure(threads, runs):
    torch.set_num_threads(threads)
    parallel.THREADS[0] = threads
    clock = time.perf_counter if threads > 1 else time.process_time
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    t = rng.integers(0, 10, 64)
    rows = []
    with threadpool_limits(threads):
        for name, body in (("conv/pool layers fwd+bwd", features), ("LeNet-5 train step", lenet)):
            e_p = params(ember, np.random.default_rng(1), SHAPES)
            t_p = params(torch, np.random.default_rng(1), SHAPES)
            fe = functools.partial(step, F, ember.tensor(x), ember.tensor(t), e_p, body)
            ft = functools.partial(step, TF, torch.tensor(x), torch.tensor(t), t_p, body)
            rows.append((name, *alternate(fe, ft, runs, clock)))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--no-direct", action="store_true", help="im2col + GEMM convolutions")
    args = ap.parse_args()
    if args.no_direct:
        from ember.ops import conv

        conv.DIRECT_MAX_MACS_PER_OUTPUT[0] = 0
    print(f"machine: {machine()}; BLAS: {blas_info()}")
    print(f"ember convolutions: {'im2col + GEMM' if args.no_direct else 'direct where they pay'}")
    print("| benchmark | threads | ember | PyTorch | ember/PyTorch |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for threads, what in ((2, "wall"), (1, "CPU")):
        for name, e, t in measure(threads, args.runs):
            print(f"| {name} | {threads} ({what}) | {fmt_time(e)} | {fmt_time(t)} | {e / t:.2f}x |")


if __name__ == "__main__":
    main()
