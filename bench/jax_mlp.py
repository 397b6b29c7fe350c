"""The compiled MLP training step against JAX's jit, the reference the compiler's target was set by.

The compiler issue sets "compiled MLP step <= 0.7x PyTorch eager" from one measurement: JAX's
jit ran the step in 0.53 ms where PyTorch eager took 0.93 ms (0.57x). This script times the
three side by side in one process (2 threads each, interleaved rounds), so the target can be
checked against JAX on the machine at hand::

    pip install -e '.[jax]'            # JAX's CPU wheels, about 600 MB
    .venv/bin/python bench/jax_mlp.py

The step is the same in all three: MLP 784-256-128-10 with ReLU, batch 128, cross entropy,
SGD with momentum 0.9 (lr 0.01); PyTorch uses its foreach optimizer.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import blas_info, clean_blas_env, fmt_time, machine, timeit_interleaved  # noqa: E402

clean_blas_env()
# XLA's CPU client on 2 threads, as PyTorch and OpenBLAS get (set before JAX is imported)
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads=2"
)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from compile import SGD, _opt, _step  # noqa: E402 - the step compile.py times

import ember  # noqa: E402
from ember.models import mlp  # noqa: E402

torch.set_num_threads(2)
SIZES = (784, 256, 128, 10)
LR, MOMENTUM = SGD[1]["lr"], SGD[1]["momentum"]  # JAX's step below uses the same


def ember_step(x, y):
    ember.manual_seed(0)
    model = mlp(ember.nn, SIZES)
    compiled = ember.compile(_step(ember, model, _opt(ember, model, SGD)))
    xe, ye = ember.tensor(x), ember.tensor(y)
    compiled(xe, ye)  # traces (and runs eagerly)
    return lambda: compiled(xe, ye)


def torch_step(x, y):
    torch.manual_seed(0)
    model = mlp(torch.nn, SIZES)
    step = _step(torch, model, _opt(torch, model, SGD))  # the foreach optimizer
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    return lambda: step(xt, yt)


def jax_step(x, y):
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(1)
    params = [
        (jnp.asarray(rng.standard_normal((o, i), np.float32) / np.sqrt(i)), jnp.zeros(o))
        for i, o in zip(SIZES[:-1], SIZES[1:])
    ]

    def loss_fn(params, x, y):
        h = x
        for k, (w, b) in enumerate(params):
            h = h @ w.T + b
            if k < len(params) - 1:
                h = jax.nn.relu(h)
        picked = jnp.take_along_axis(h, y[:, None], axis=1)[:, 0]
        return jnp.mean(jax.nn.logsumexp(h, axis=1) - picked)

    @jax.jit
    def step(params, bufs, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        bufs = jax.tree_util.tree_map(lambda b, g: MOMENTUM * b + g, bufs, grads)
        params = jax.tree_util.tree_map(lambda p, b: p - LR * b, params, bufs)
        return params, bufs, loss

    state = [params, jax.tree_util.tree_map(jnp.zeros_like, params)]
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def call():
        state[0], state[1], loss = step(state[0], state[1], xj, yj)
        loss.block_until_ready()

    call()  # compiles
    return call, jax.__version__


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], 128)
    fns = {"ember compiled": ember_step(x, y), "PyTorch eager": torch_step(x, y)}
    try:
        fns["JAX jit"], jax_version = jax_step(x, y)
    except ImportError:
        jax_version = None
    print(f"machine: {machine()}; BLAS: {blas_info()}; torch {torch.__version__}")
    print(f"jax {jax_version}; load average {os.getloadavg()[0]:.1f}")
    if jax_version is None:
        print("JAX is not installed (pip install -e '.[jax]'): timing ember and PyTorch only")
    for round_ in range(3):
        t = timeit_interleaved(fns, min_time=2.0)
        base = t["PyTorch eager"]
        print(f"\n### MLP step (b=128, SGD momentum), round {round_ + 1}\n")
        print("| | step | / PyTorch eager |")
        print("| --- | ---: | ---: |")
        for name, seconds in t.items():
            print(f"| {name} | {fmt_time(seconds)} | {seconds / base:.2f} |")


if __name__ == "__main__":
    main()
