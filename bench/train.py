"""Training-step benchmark of ember.nn models vs the same torch.nn models (2 threads each).

    .venv/bin/python bench/train.py            # everything
    .venv/bin/python bench/train.py --quick    # shorter timing runs, no full epoch

Steps: MLP 784-256-128-10 (batch 128, SGD momentum), LeNet-5 (batch 64), a 1-layer LSTM
(hidden 128, seq 32, batch 32, Adam), a Transformer encoder layer (d_model 128, 4 heads, ff
512, seq 64, batch 16, Adam); and one full Fashion-MNIST epoch of LeNet-5 including data
loading (ember.data vs torch.utils.data), the two epochs timed in interleaved slices. Prints a
Markdown table of ratios.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import (  # noqa: E402
    blas_info,
    clean_blas_env,
    machine,
    print_table,
    timeit_interleaved,
)

clean_blas_env()

import numpy as np  # noqa: E402
import torch  # noqa: E402

import ember  # noqa: E402
from ember.models import lenet5 as lenet  # noqa: E402
from ember.models import mlp  # noqa: E402

torch.set_num_threads(2)


def lstm(nn):
    class LSTMHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(64, 128, batch_first=True)
            self.head = nn.Linear(128, 10)

        def forward(self, x):
            return self.head(self.lstm(x)[0][:, -1])

    return LSTMHead()


def encoder_layer(nn):
    class EncoderHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(128, 4, 512, dropout=0.1, batch_first=True)
            self.head = nn.Linear(128, 10)

        def forward(self, x):
            return self.head(self.layer(x).mean(1))

    return EncoderHead()


CASES = [
    # name, model, input shape, optimizer, kwargs
    ("MLP step (b=128, SGD momentum)", mlp, (128, 784), "SGD", dict(lr=0.01, momentum=0.9)),
    (
        "LeNet-5 step (b=64, SGD momentum)",
        lenet,
        (64, 1, 28, 28),
        "SGD",
        dict(lr=0.01, momentum=0.9),
    ),
    ("LSTM step (h=128, seq 32, b=32, Adam)", lstm, (32, 32, 64), "Adam", dict(lr=1e-3)),
    (
        "Transformer layer step (d=128, seq 64, b=16, Adam)",
        encoder_layer,
        (16, 64, 128),
        "Adam",
        dict(lr=1e-3),
    ),
]


def _torch_opt(name, params, kwargs):
    for flag in ("fused", "foreach"):
        try:
            return getattr(torch.optim, name)(params, **kwargs, **{flag: True})
        except (RuntimeError, TypeError, ValueError):
            continue
    return getattr(torch.optim, name)(params, **kwargs)


def _step(lib, model, opt, x, y):
    def step():
        loss = lib.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def step_rows(min_time: float):
    rng = np.random.default_rng(0)
    rows = []
    for name, build, shape, opt, kwargs in CASES:
        x = rng.standard_normal(shape).astype(np.float32)
        y = rng.integers(0, 10, shape[0])
        steps = {}
        for lib in (ember, torch):
            lib.manual_seed(0)
            model = build(lib.nn)
            o = (
                _torch_opt(opt, model.parameters(), kwargs)
                if lib is torch
                else getattr(ember.optim, opt)(model.parameters(), **kwargs)
            )
            steps[lib] = _step(lib, model, o, lib.tensor(x), lib.tensor(y))
        times = timeit_interleaved(steps, min_time=min_time)
        rows.append((name, times[ember], times[torch], 1.5, "s"))
    return rows


def epoch_rows(slices: int = 8):
    """One full epoch per library, loading included, timed in ``slices`` interleaved turns
    (each library runs the next 1/slices of its epoch in turn, the first mover alternating):
    one epoch after the other compared two speeds of this VM, which drifts by 30% within a
    minute."""
    train = ember.datasets.fashion_mnist("train")
    xs, ys = (t.numpy() for t in train.tensors)
    runs = {}
    for lib in (ember, torch):
        lib.manual_seed(0)
        model = lenet(lib.nn)
        if lib is torch:
            ds = torch.utils.data.TensorDataset(torch.from_numpy(xs), torch.from_numpy(ys))
            loader = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True)
            opt = _torch_opt("SGD", model.parameters(), dict(lr=0.01, momentum=0.9))
        else:
            loader = ember.data.DataLoader(train, batch_size=64, shuffle=True)
            opt = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        runs[lib] = (iter(loader), model, opt, len(loader))
    times = {ember: 0.0, torch: 0.0}
    for k in range(slices):
        for lib in (ember, torch) if k % 2 == 0 else (torch, ember):
            batches, model, opt, n = runs[lib]
            todo = n * (k + 1) // slices - n * k // slices
            t0 = time.perf_counter()
            for _ in range(todo):
                x, y = next(batches)
                _step(lib, model, opt, x, y)()
            times[lib] += time.perf_counter() - t0
    for lib, (batches, *_rest) in runs.items():
        assert next(batches, None) is None, f"{lib.__name__}: the epoch has batches left"
    return [
        ("Fashion-MNIST epoch, LeNet-5 (b=64, incl. loading)", times[ember], times[torch], 1.5, "s")
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    print(
        f"machine: {machine()}; BLAS: {blas_info()}; torch {torch.__version__} "
        f"({torch.get_num_threads()} threads); numpy {np.__version__}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print_table("Training steps (ember.nn vs torch.nn)", step_rows(0.5 if args.quick else 2.0))
    if not args.quick:
        print_table("One epoch", epoch_rows())


if __name__ == "__main__":
    main()
