"""Convolution / pooling micro-benchmarks: the LeNet-5 conv and pool layers (batch 64,
1x28x28), forward + backward, ember against PyTorch eager (2 threads), plus a full LeNet-5
training step (forward, cross-entropy, backward).

    .venv/bin/python bench/conv_micro.py
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import clean_blas_env  # noqa: E402

clean_blas_env()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402
from common import blas_info, fmt_time, machine, timeit  # noqa: E402

import ember  # noqa: E402
import ember.nn.functional as F  # noqa: E402

torch.set_num_threads(2)


def params(lib, rng, shapes):
    return [
        lib.tensor(rng.standard_normal(s).astype(np.float32) * 0.1, requires_grad=True)
        for s in shapes
    ]


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


def features(f, x, p):
    """conv 6@5x5 -> relu -> maxpool 2 -> conv 16@5x5 -> relu -> maxpool 2."""
    y = f.max_pool2d(f.relu(f.conv2d(x, p[0], p[1])), 2)
    return f.max_pool2d(f.relu(f.conv2d(y, p[2], p[3])), 2)


def lenet(f, x, p):
    y = features(f, x, p).reshape(x.shape[0], -1)
    y = f.relu(f.linear(y, p[4], p[5]))
    y = f.relu(f.linear(y, p[6], p[7]))
    return f.linear(y, p[8], p[9])


def step(lib, f, x, t, p, body):
    for q in p:
        q.grad = None
    out = body(f, x, p)
    loss = f.cross_entropy(out, t) if body is lenet else (out * out).sum()
    loss.backward()


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    t = rng.integers(0, 10, 64)
    rows = []
    for name, body in (("conv/pool layers fwd+bwd", features), ("LeNet-5 training step", lenet)):
        e_p = params(ember, np.random.default_rng(1), SHAPES)
        t_p = params(torch, np.random.default_rng(1), SHAPES)
        ex, et = ember.tensor(x), ember.tensor(t)
        tx, tt = torch.tensor(x), torch.tensor(t)
        te = timeit(functools.partial(step, ember, F, ex, et, e_p, body))
        tt_ = timeit(functools.partial(step, torch, TF, tx, tt, t_p, body))
        rows.append((name, te, tt_))
    with torch.no_grad():
        tx = torch.tensor(x)
        t_p = params(torch, np.random.default_rng(1), SHAPES)
        tf = timeit(lambda: features(TF, tx, t_p))
    with ember.no_grad():
        ex = ember.tensor(x)
        e_p = params(ember, np.random.default_rng(1), SHAPES)
        ef = timeit(lambda: features(F, ex, e_p))
    rows.append(("conv/pool layers forward (no grad)", ef, tf))
    print(f"machine: {machine()}; BLAS: {blas_info()}; torch threads: {torch.get_num_threads()}")
    print("| benchmark | ember | PyTorch | ember/PyTorch |")
    print("| --- | ---: | ---: | ---: |")
    for name, a, b in rows:
        print(f"| {name} | {fmt_time(a)} | {fmt_time(b)} | {a / b:.2f}x |")


if __name__ == "__main__":
    main()
