"""Eager-mode benchmark: ember vs PyTorch eager, side by side in one run (2 threads each).

    .venv/bin/python bench/eager.py            # everything
    .venv/bin/python bench/eager.py --quick    # shorter timing runs

Measures per-op dispatch overhead on tiny tensors (forward; forward+backward of a 16-op chain),
training steps of an MLP 784-256-128-10 (batch 128; SGD with momentum and Adam) and of LeNet-5
(batch 64, 1x28x28), and the peak memory of the MLP step. ember steps with ``ember.optim``;
PyTorch uses its fastest optimizer implementation available on CPU (fused, else foreach).
Prints a Markdown table of ratios.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

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
import ember.nn.functional as F  # noqa: E402

torch.set_num_threads(2)
MIN_TIME = 0.3


# ---- models written with the functional API, identical in both frameworks -----------------


def mlp_params(lib, rng):
    shapes = [(256, 784), (256,), (128, 256), (128,), (10, 128), (10,)]
    return [
        lib.tensor(rng.standard_normal(s).astype(np.float32) * 0.05, requires_grad=True)
        for s in shapes
    ]


def mlp_forward(lib_f, x, p):
    h = lib_f.relu(lib_f.linear(x, p[0], p[1]))
    h = lib_f.relu(lib_f.linear(h, p[2], p[3]))
    return lib_f.linear(h, p[4], p[5])


def lenet_params(lib, rng):
    shapes = [
        (6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,),
        (120, 256), (120,), (84, 120), (84,), (10, 84), (10,),
    ]  # fmt: skip
    return [
        lib.tensor(rng.standard_normal(s).astype(np.float32) * 0.1, requires_grad=True)
        for s in shapes
    ]


def lenet_forward(lib_f, x, p):
    h = lib_f.max_pool2d(lib_f.relu(lib_f.conv2d(x, p[0], p[1])), 2)
    h = lib_f.max_pool2d(lib_f.relu(lib_f.conv2d(h, p[2], p[3])), 2)
    h = h.reshape(h.shape[0], -1)
    h = lib_f.relu(lib_f.linear(h, p[4], p[5]))
    h = lib_f.relu(lib_f.linear(h, p[6], p[7]))
    return lib_f.linear(h, p[8], p[9])


# ---- optimizers: ember.optim, and PyTorch's fastest CPU implementation ----------------------


def ember_opt(kind, params):
    if kind == "sgd":
        return ember.optim.SGD(params, lr=0.01, momentum=0.9)
    return ember.optim.Adam(params, lr=1e-3)


def torch_opt(kind, params):
    for flag in ("fused", "foreach"):
        try:
            if kind == "sgd":
                return torch.optim.SGD(params, lr=0.01, momentum=0.9, **{flag: True})
            return torch.optim.Adam(params, lr=1e-3, **{flag: True})
        except (RuntimeError, TypeError, ValueError):
            continue
    raise RuntimeError("no torch optimizer")


def make_step(lib, forward, params, opt, x, y):
    f = F if lib is ember else torch.nn.functional

    def step():
        loss = f.cross_entropy(forward(f, x, params), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def training_rows():
    rng = np.random.default_rng(0)
    xm = rng.standard_normal((128, 784)).astype(np.float32)
    ym = rng.integers(0, 10, 128)
    xl = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    yl = rng.integers(0, 10, 64)
    rows = []
    cases = [
        ("MLP step, SGD momentum (b=128)", mlp_params, mlp_forward, "sgd", xm, ym, 1.0),
        ("MLP step, Adam (b=128)", mlp_params, mlp_forward, "adam", xm, ym, 1.0),
        ("LeNet-5 step, SGD momentum (b=64)", lenet_params, lenet_forward, "sgd", xl, yl, 1.5),
    ]
    for name, make_params, forward, kind, x, y, target in cases:
        pe = make_params(ember, np.random.default_rng(1))
        pt = make_params(torch, np.random.default_rng(1))
        oe = ember_opt(kind, pe)
        ot = torch_opt(kind, pt)
        t = timeit_interleaved(
            {
                "ember": make_step(ember, forward, pe, oe, ember.tensor(x), ember.tensor(y)),
                "torch": make_step(torch, forward, pt, ot, torch.tensor(x), torch.tensor(y)),
            },
            min_time=MIN_TIME,
        )
        rows.append((name, t["ember"], t["torch"], target, "s"))
    return rows


# ---- dispatch overhead ------------------------------------------------------------------------


def tiny_ops(fl, a, b) -> dict:
    """Single ops on 4x4 tensors: their time is almost all framework overhead."""
    return {
        "add": lambda: a + b,
        "mul by scalar": lambda: a * 2.0,
        "exp": lambda: a.exp(),
        "sum": lambda: a.sum(),
        "relu": lambda: fl.relu(a),
        "matmul 4x4": lambda: a @ b,
        "reshape": lambda: a.reshape(16),
        "getitem a[1:3]": lambda: a[1:3],
    }


def chain_step(x, w, c):
    """A 16-op forward chain on 4-element vectors, then backward."""

    def step():
        y = x
        for _ in range(4):
            y = ((y * w + c).sigmoid() - c) * 1.0
        y.sum().backward()
        x.grad = None
        w.grad = None

    return step


def overhead_rows():
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((4, 4)).astype(np.float32)
    b_np = rng.standard_normal((4, 4)).astype(np.float32)
    fns = {}
    for lib, fl in ((ember, F), (torch, torch.nn.functional)):
        ops = tiny_ops(fl, lib.tensor(a_np), lib.tensor(b_np))
        for name, fn in ops.items():
            fns[lib.__name__, name] = fn
        x = lib.tensor(a_np[0], requires_grad=True)
        w = lib.tensor(b_np[0], requires_grad=True)
        fns[lib.__name__, "chain"] = chain_step(x, w, lib.tensor(b_np[1]))
    times = {}
    for name in dict.fromkeys(n for _, n in fns):  # each op interleaved with its PyTorch twin
        pair = {lib: fns[lib, name] for lib in ("ember", "torch")}
        for lib, t in timeit_interleaved(pair, min_time=MIN_TIME / 2).items():
            times[lib, name] = t
    names = [n for (lib, n) in times if lib == "ember" and n != "chain"]
    out = [(f"forward op: {n}", times["ember", n], times["torch", n], 1.0, "s") for n in names]
    ratios = [times["ember", n] / times["torch", n] for n in names]
    geo = float(np.exp(np.mean(np.log(ratios))))
    out.append(("forward ops, geometric mean of ratios", geo, 1.0, 1.0, "x"))
    out.append(
        (
            "16-op chain fwd+bwd (4 elems)",
            times["ember", "chain"],
            times["torch", "chain"],
            1.0,
            "s",
        )
    )
    return out


# ---- peak memory --------------------------------------------------------------------------------


def _memory_child(lib_name: str) -> None:
    lib = ember if lib_name == "ember" else torch
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((128, 784)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, 128))
    p = mlp_params(lib, np.random.default_rng(1))
    opt = ember_opt("sgd", p) if lib is ember else torch_opt("sgd", p)
    step = make_step(lib, mlp_forward, p, opt, x, y)
    base = _status_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak-RSS mark (VmHWM) so import-time peaks don't count
    for _ in range(5):
        step()
    print(max(_status_kb("VmHWM") - base, 0))


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def memory_rows():
    vals = {}
    for lib in ("ember", "torch"):
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", lib],
            capture_output=True,
            text=True,
            check=True,
        )
        vals[lib] = int(out.stdout.strip().splitlines()[-1]) / 1024
    return [("MLP step peak memory above baseline", vals["ember"], vals["torch"], 1.5, "MiB")]


def main() -> None:
    global MIN_TIME
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--memory-child")
    args = ap.parse_args()
    if args.memory_child:
        _memory_child(args.memory_child)
        return
    if args.quick:
        MIN_TIME = 0.1
    print(
        f"machine: {machine()}; BLAS: {blas_info()}; torch {torch.__version__} "
        f"({torch.get_num_threads()} threads); numpy {np.__version__}"
    )
    print_table("Dispatch overhead (tiny tensors)", overhead_rows())
    print_table("Training steps", training_rows())
    print_table("Peak memory", memory_rows())


if __name__ == "__main__":
    main()
