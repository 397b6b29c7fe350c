"""ember.compile benchmark: compiled training steps and inference vs PyTorch (2 threads each).

    .venv/bin/python bench/compile.py            # everything
    .venv/bin/python bench/compile.py --quick    # shorter timing runs
    .venv/bin/python bench/compile.py --no-torch-compile

Columns: ember eager, ember compiled (``ember.compile`` of the whole step: forward, backward,
optimizer update), PyTorch eager, ``torch.compile`` (of the model; the optimizer step stays
eager), and the ratios of ember compiled to both. torch.compile may fail or be slow to compile
here: a failure is reported in its column and the run goes on. Also: inference latency at
batch 1 and 32, and the LeNet-5 compile time (first call: trace + passes + codegen).
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
    fmt_time,
    machine,
    timeit_interleaved,
)

clean_blas_env()

import numpy as np  # noqa: E402
import torch  # noqa: E402

import ember  # noqa: E402
from ember.models import lenet5, mlp  # noqa: E402

torch.set_num_threads(2)


def encoder(nn):
    class EncoderHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(128, 4, 512, dropout=0.0, batch_first=True)
            self.head = nn.Linear(128, 10)

        def forward(self, x):
            return self.head(self.layer(x).mean(1))

    return EncoderHead()


SGD = ("SGD", dict(lr=0.01, momentum=0.9))
STEPS = [
    # name, model, input shape, optimizer, target (ember compiled / torch eager)
    ("MLP step (b=128, SGD momentum)", mlp, (128, 784), SGD, 0.7),
    ("LeNet-5 step (b=64, SGD momentum)", lenet5, (64, 1, 28, 28), SGD, 1.0),
    (
        "Transformer layer step (d=128, seq 64, b=16, Adam)",
        encoder,
        (16, 64, 128),
        ("Adam", dict(lr=1e-3)),
        1.0,
    ),
]
INFER = [("MLP", mlp, (784,)), ("LeNet-5", lenet5, (1, 28, 28))]


def _opt(lib, model, spec):
    name, kw = spec
    if lib is ember:
        return getattr(ember.optim, name)(model.parameters(), **kw)
    return getattr(torch.optim, name)(model.parameters(), **kw, foreach=True)


def _step(lib, model, opt):
    def step(x, y):
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def _data(lib, shape, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    return lib.tensor(x), lib.tensor(rng.integers(0, 10, shape[0]))


def _call(fn, *args):
    return lambda: fn(*args)


def _call_later(fn, *args):
    """A maker of ``fn(*args)`` for ``_time_or_error`` (building may raise)."""
    return lambda: _call(fn, *args)


def _built(make):
    """(callable, note): ``make()`` builds the callable and its first call compiles; a
    failure (torch.compile's, here) gives (None, the error) instead of ending the run."""
    try:
        t0 = time.perf_counter()
        fn = make()
        fn()
        return fn, f"compiled in {time.perf_counter() - t0:.1f} s"
    except Exception as exc:  # noqa: BLE001 - torch.compile failures are reported, not fatal
        return None, f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"


def _timed(fns, min_time):
    """Interleaved times of the callables that could be built (None for the others)."""
    built = {k: f for k, f in fns.items() if f is not None}
    times = timeit_interleaved(built, min_time=min_time)
    return {k: times.get(k) for k in fns}


def step_row(case, min_time, torch_compile):
    name, build, shape, spec, target = case
    rng = np.random.default_rng(0)
    fns = {}
    for lib, key in ((ember, "ember"), (torch, "torch")):
        lib.manual_seed(0)
        model = build(lib.nn)
        x, y = _data(lib, shape, rng)
        step = _step(lib, model, _opt(lib, model, spec))
        fns[key] = _call(step, x, y)
        if lib is ember:
            fns["ember_c"], _ = _built(_call_later(ember.compile(step), x, y))
    fns["torch_c"], note = (None, "skipped")
    if torch_compile:
        torch.manual_seed(0)
        model = build(torch.nn)
        x, y = _data(torch, shape, rng)
        step = _step(torch, torch.compile(model), _opt(torch, model, spec))
        fns["torch_c"], note = _built(_call_later(step, x, y))
    return name, _timed(fns, min_time), target, note


def _no_grad(ctx, fn):
    def call():
        with ctx():
            return fn()

    return call


def infer_rows(min_time, torch_compile):
    rows = []
    for name, build, shape in INFER:
        for batch in (1, 32):
            rng = np.random.default_rng(0)
            x = rng.standard_normal((batch, *shape)).astype(np.float32)
            ember.manual_seed(0)
            em = build(ember.nn).eval()
            ex = ember.tensor(x)
            tm = build(torch.nn).eval()
            tx = torch.from_numpy(x)
            fns = {
                "ember": _no_grad(ember.no_grad, _call(em, ex)),
                "ember_c": _no_grad(ember.no_grad, _call(ember.compile(em), ex)),
                "torch": _no_grad(torch.inference_mode, _call(tm, tx)),
                "torch_c": None,
            }
            note = "skipped"
            if torch_compile:
                compiled = _no_grad(torch.inference_mode, _call(torch.compile(tm), tx))
                fns["torch_c"], note = _built(lambda c=compiled: c)
            target = 0.8 if batch == 1 else None
            rows.append((f"{name} inference, batch {batch}", _timed(fns, min_time), target, note))
    return rows


def compile_time_rows():
    ember.manual_seed(0)
    model = lenet5(ember.nn)
    opt = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = _data(ember, (64, 1, 28, 28), np.random.default_rng(0))
    out = []
    for label in ("first", "second"):
        fast = ember.compile(_step(ember, model, opt))
        t0 = time.perf_counter()
        fast(x, y)  # the step that creates the momentum buffers runs while tracing
        fast(x, y)  # ... and the steady-state graph is traced on the second call
        out.append((label, time.perf_counter() - t0))
    return out


def _fmt(v):
    return "n/a" if v is None else fmt_time(v)


def _ratio(a, b):
    return "n/a" if a is None or b is None else f"{a / b:.2f}"


def print_rows(title, rows):
    print(f"\n### {title}\n")
    print(
        "| benchmark | ember eager | ember compiled | PyTorch eager | torch.compile "
        "| compiled/PyTorch | compiled/torch.compile | target | torch.compile note |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, t, target, note in rows:
        ratio = None if t["ember_c"] is None else t["ember_c"] / t["torch"]
        mark = "" if target is None or ratio is None else ("ok" if ratio <= target else "MISS")
        tgt = "" if target is None else f"<= {target:.1f} {mark}"
        print(
            f"| {name} | {_fmt(t['ember'])} | {_fmt(t['ember_c'])} | {_fmt(t['torch'])} | "
            f"{_fmt(t['torch_c'])} | {_ratio(t['ember_c'], t['torch'])} | "
            f"{_ratio(t['ember_c'], t['torch_c'])} | {tgt} | {note} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-torch-compile", action="store_true")
    args = ap.parse_args()
    min_time = 0.5 if args.quick else 2.0
    tc = not args.no_torch_compile
    print(
        f"machine: {machine()}; BLAS: {blas_info()}; torch {torch.__version__} "
        f"({torch.get_num_threads()} threads); numpy {np.__version__}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for label, seconds in compile_time_rows():
        print(
            f"LeNet-5 step, {label} ember.compile (2 calls: trace, trace + passes + codegen): "
            f"{seconds * 1e3:.0f} ms (target < 1 s)"
        )
    print_rows("Compiled training steps", [step_row(c, min_time, tc) for c in STEPS])
    print_rows("Compiled inference latency", infer_rows(min_time, tc))


if __name__ == "__main__":
    main()
