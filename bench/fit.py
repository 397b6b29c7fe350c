"""Overhead of ``model.fit`` against a hand-written training loop (same model, data, batch size,
optimizer): one epoch of an MLP 64-128-64-10 on scikit-learn's digits, batch 32, Adam.

    .venv/bin/python bench/fit.py            # 15 interleaved epochs of each
    .venv/bin/python bench/fit.py --quick    # 5

Variants: fit on arrays (x, y), fit on the same DataLoader the hand loop uses, and fit with
the 'accuracy' metric. The hand loop tracks its epoch loss with ``loss.item()`` as a typical
loop does. Prints median seconds per epoch and the ratio to the hand loop (target <= 1.10).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import blas_info, clean_blas_env, machine  # noqa: E402

clean_blas_env()

import ember  # noqa: E402
import ember.nn.functional as F  # noqa: E402
from ember import nn  # noqa: E402

BATCH = 32


def make_model():
    ember.manual_seed(0)
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 128),
        nn.ReLU(),
        nn.Linear(128, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def hand_epoch(model, opt, loader):
    model.train()
    total, n = 0.0, 0
    for xb, yb in loader:
        out = model(xb)
        loss = F.cross_entropy(out, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(yb)
        n += len(yb)
    return total / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rounds = 5 if args.quick else 15
    ds = ember.datasets.digits("train")
    x, y = ds.tensors
    loader = ember.data.DataLoader(ds, batch_size=BATCH, shuffle=True)

    hand_model = make_model()
    hand_opt = ember.optim.Adam(hand_model.parameters(), lr=1e-3)
    variants = {"hand loop": lambda: hand_epoch(hand_model, hand_opt, loader)}
    for name, metrics, data in (
        ("fit(x, y)", None, (x, y)),
        ("fit(DataLoader)", None, (loader, None)),
        ("fit(x, y), accuracy", ["accuracy"], (x, y)),
    ):
        model = make_model()
        model.compile(ember.optim.Adam(model.parameters(), lr=1e-3), "cross_entropy", metrics)
        variants[name] = lambda m=model, d=data: m.fit(*d, batch_size=BATCH, epochs=1, verbose=0)

    times = {k: [] for k in variants}
    for fn in variants.values():  # warm-up
        fn()
    for _ in range(rounds):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)

    print(f"machine: {machine()}; BLAS: {blas_info()}")
    print(f"digits train: {len(ds)} samples, batch {BATCH}, {len(loader)} steps/epoch\n")
    base = statistics.median(times["hand loop"])
    print("| variant | ms/epoch | ratio to hand loop | target |")
    print("| --- | ---: | ---: | ---: |")
    for name, ts in times.items():
        t = statistics.median(ts)
        mark = "" if name == "hand loop" else ("<= 1.10 ok" if t / base <= 1.10 else "<= 1.10 MISS")
        print(f"| {name} | {t * 1e3:.2f} | {t / base:.3f} | {mark} |")


if __name__ == "__main__":
    main()
