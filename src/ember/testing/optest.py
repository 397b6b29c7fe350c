"""The table-driven op harness: one ``OpCase`` per op, checked by ``run_case``.

A case names an ember function, a reference (a PyTorch function, or a NumPy one), the input
shapes to try and the dtypes the op supports. ``run_case`` then checks, for each dtype:

* forward values, shape and dtype against the reference, on every shape (0-dim, size-0 dims,
  broadcasting ...) and again on non-contiguous copies of the inputs;
* gradients of every floating input against PyTorch autograd for a random upstream gradient;
* ``gradcheck`` in float64 and, for smooth ops, ``gradgradcheck``.

>>> import ember, torch
>>> case = OpCase("exp", ember.exp, torch.exp, shapes=[((3,),)])
>>> run_case(case, "float64")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from ember.core.autograd import grad as autograd_grad
from ember.core.tensor import Tensor, _wrap
from ember.testing.compare import TOLERANCES, assert_close
from ember.testing.gradcheck import gradcheck, gradgradcheck

FLOAT_DTYPES = ("float16", "float32", "float64")
UNARY_SHAPES = [((),), ((0,),), ((5,),), ((3, 4),), ((2, 3, 4),)]
BINARY_SHAPES = [
    ((), ()),
    ((5,), (5,)),
    ((3, 4), (3, 4)),
    ((3, 1), (1, 4)),
    ((2, 3, 4), (4,)),
    ((), (3, 2)),
    ((0, 3), (1, 3)),
]


@dataclasses.dataclass
class OpCase:
    """One row of an op table. Inputs are generated from ``shapes`` unless ``make`` is given.

    make(rng, dtype, shapes) -> list of np.ndarrays or Python values (non-arrays are passed
    through unchanged). ``diff`` lists the input positions to differentiate (default: every
    floating array input). ``ref`` gets torch tensors (or ``np_ref`` NumPy arrays).
    """

    name: str
    fn: Callable
    ref: Callable | None = None
    np_ref: Callable | None = None
    shapes: list = dataclasses.field(default_factory=lambda: list(UNARY_SHAPES))
    dtypes: tuple = FLOAT_DTYPES
    make: Callable | None = None
    domain: tuple = (-2.0, 2.0)
    diff: tuple | None = None
    grad: bool = True
    gradgrad: bool = True
    noncontig: bool = True
    tol: dict = dataclasses.field(default_factory=dict)  # dtype name -> (rtol, atol)
    grad_tol: dict = dataclasses.field(default_factory=dict)
    check_dtype: bool = True
    extra: dict = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


def ids(cases) -> list:
    return [c.name for c in cases]


def default_make(case: OpCase):
    lo, hi = case.domain

    def make(rng, dtype, shapes):
        out = []
        for s in shapes:
            if np.dtype(dtype).kind == "f":
                out.append(rng.uniform(lo, hi, s).astype(dtype))
            elif np.dtype(dtype).kind == "b":
                out.append(np.asarray(rng.random(s) > 0.5))  # a 0-d array, not np.bool_
            else:
                out.append(rng.integers(int(lo) - 3, int(hi) + 4, s).astype(dtype))
        return out

    return make


def _noncontig(a):
    """The same values in a non-contiguous array (every other element of a larger one)."""
    if not isinstance(a, np.ndarray) or a.ndim == 0 or a.size == 0:
        return a
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    big[..., ::2] = a
    return big[..., ::2]


def _as_list(x):
    if isinstance(x, (tuple, list)):
        return list(x)
    return [x]


def _float_positions(case, arrays):
    if case.diff is not None:
        return [i for i in case.diff if isinstance(arrays[i], np.ndarray)]
    return [i for i, a in enumerate(arrays) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]


def _to_ember(arrays, diff, requires_grad):
    return [
        (_wrap(a.copy()).requires_grad_() if requires_grad and i in diff else _wrap(a.copy()))
        if isinstance(a, np.ndarray)
        else a
        for i, a in enumerate(arrays)
    ]


def _reference(case, arrays, diff, requires_grad):
    if case.ref is None:
        return [np.asarray(r) for r in _as_list(case.np_ref(*arrays))], None
    import torch

    ts = []
    for i, a in enumerate(arrays):
        if isinstance(a, np.ndarray):
            t = torch.from_numpy(a.copy())
            if requires_grad and i in diff:
                t.requires_grad_()
            ts.append(t)
        else:
            ts.append(a)
    return _as_list(case.ref(*ts)), ts


def _tol(case, dtype, table):
    return table.get(dtype, case.tol.get(dtype, TOLERANCES.get(dtype, (1e-5, 1e-5))))


def check_forward(case: OpCase, dtype: str, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    make = case.make or default_make(case)
    rtol, atol = _tol(case, dtype, {})
    for shapes in case.shapes:
        arrays = make(rng, dtype, shapes)
        expected, _ = _reference(case, arrays, (), False)
        got = _as_list(case.fn(*_to_ember(arrays, (), False)))
        label = f"{case.name} {dtype} shapes={shapes}"
        if len(got) != len(expected):
            raise AssertionError(f"{label}: {len(got)} outputs, expected {len(expected)}")
        for k, (g, e) in enumerate(zip(got, expected)):
            assert_close(g, e, rtol, atol, check_dtype=case.check_dtype, msg=f"{label} out {k}")
        if case.noncontig:
            nc = [_noncontig(a) for a in arrays]
            got_nc = _as_list(case.fn(*_to_ember(nc, (), False)))
            for k, (g, e) in enumerate(zip(got_nc, got)):
                assert_close(g, e, 0, 0, msg=f"{label} non-contiguous out {k}")


def check_grads(case: OpCase, dtype: str, seed: int = 0) -> None:
    """ember gradients against PyTorch autograd for a random upstream gradient."""
    if not case.grad or case.ref is None or np.dtype(dtype).kind != "f":
        return
    import torch

    rng = np.random.default_rng(seed + 1)
    make = case.make or default_make(case)
    rtol, atol = _tol(case, dtype, case.grad_tol)
    for shapes in case.shapes:
        arrays = make(rng, dtype, shapes)
        diff = _float_positions(case, arrays)
        if not diff:
            continue
        xs = _to_ember(arrays, diff, True)
        outs = [o for o in _as_list(case.fn(*xs)) if isinstance(o, Tensor) and o.requires_grad]
        t_outs, ts = _reference(case, arrays, diff, True)
        t_outs = [o for o in t_outs if isinstance(o, torch.Tensor) and o.requires_grad]
        if not outs:
            continue
        us = [rng.uniform(-1, 1, o.shape).astype(dtype) for o in outs]
        got = autograd_grad(outs, [xs[i] for i in diff], [_wrap(u) for u in us], allow_unused=True)
        exp = torch.autograd.grad(
            t_outs, [ts[i] for i in diff], [torch.from_numpy(u) for u in us], allow_unused=True
        )
        for i, g, e in zip(diff, got, exp):
            label = f"{case.name} {dtype} shapes={shapes} grad of input {i}"
            if e is None:
                e = torch.zeros(arrays[i].shape, dtype=getattr(torch, dtype))
            if g is None:
                g = np.zeros(arrays[i].shape, dtype)
            assert_close(g, e, rtol, atol, msg=label)


def check_gradcheck(case: OpCase, seed: int = 0) -> None:
    """gradcheck (and gradgradcheck for smooth ops) in float64 on every non-empty shape."""
    if not case.grad or "float64" not in case.dtypes:
        return
    rng = np.random.default_rng(seed + 2)
    make = case.make or default_make(case)
    for shapes in case.shapes:
        arrays = make(rng, "float64", shapes)
        diff = _float_positions(case, arrays)
        if not diff or any(arrays[i].size == 0 for i in diff):
            continue
        xs = _to_ember(arrays, diff, True)
        gradcheck(case.fn, xs)
        if case.gradgrad:
            gradgradcheck(case.fn, xs)


def run_case(case: OpCase, dtype: str, seed: int = 0) -> None:
    """Every check of the harness for one case and dtype (gradcheck runs with float64).

    While it runs, dispatch checks each executed op's shape and dtype rules against its
    forward output, so the rules the tracer and verifier rely on are tested on every shape.
    """
    from ember.core import dispatch

    prev = dispatch.check_rules[0]
    dispatch.check_rules[0] = True
    try:
        check_forward(case, dtype, seed)
        check_grads(case, dtype, seed)
        if dtype == "float64":
            check_gradcheck(case, seed)
    finally:
        dispatch.check_rules[0] = prev


def params(cases) -> list:
    """pytest parameters ``(case, dtype)`` for every case and dtype it supports."""
    import pytest

    return [pytest.param(c, d, id=f"{c.name}-{d}") for c in cases for d in c.dtypes]
