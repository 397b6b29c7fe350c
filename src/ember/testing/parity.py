"""``check_parity``: a function or module gives the same answers eager, compiled and interpreted.

The compiled function is traced on inputs A and then run from its cache on new data B of the
same shapes and dtypes, so data the trace wrongly baked into the graph as a constant shows up
as a mismatch on B. On B the check compares, output by output:

* eager mode (the function run as plain Python);
* the compiled function (the cached graph's generated code);
* the reference interpreter (``ember.ir.run_graph``) on the optimized and the traced graph.

With ``grads=True`` it does the same for a function that returns the outputs and their
gradients (``ember.autograd.grad`` traced into the graph) with respect to every floating
input that requires grad and every parameter of the module. The default tolerance is exact:
the three forms run the same NumPy kernels.

>>> import ember
>>> from ember.testing import check_parity
>>> model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.Tanh())
>>> check_parity(model, ember.randn(2, 3, requires_grad=True))
>>> check_parity(lambda x: (x * x).sum(dim=1), ember.randn(5, 2))
"""

from __future__ import annotations

import numpy as np

from ember.compiler.api import compile as _compile
from ember.compiler.pytree import flatten
from ember.core import grad_mode
from ember.core.autograd import grad as _autograd_grad
from ember.core.tensor import Tensor, _wrap
from ember.ir.interpreter import run_graph
from ember.testing.compare import assert_close


def check_parity(
    fn,
    *inputs,
    inputs_b=None,
    rtol: float = 0.0,
    atol: float = 0.0,
    grads: bool = True,
    module=None,
    seed: int = 0,
) -> None:
    """Raise AssertionError unless eager, compiled and interpreted ``fn`` agree (see module).

    ``inputs`` are the call's arguments (tensors, or Python values passed unchanged);
    ``inputs_b`` the second call's (default: each tensor's elements shuffled, which keeps
    every value in the op's domain). ``module`` names the module whose parameters and
    buffers ``fn`` uses when ``fn`` is neither the module nor one of its methods (a lambda
    calling it). The message names the form, the output and the error.
    """
    a = list(inputs)
    rng = np.random.default_rng(seed)
    b = list(inputs_b) if inputs_b is not None else [_shuffled(x, rng) for x in a]
    _same_signature(a, b)
    state = _State(fn if module is None else module)
    tol = (rtol, atol)
    with grad_mode.no_grad():
        _parity(fn, _detached(a), _detached(b), state, tol, "forward")
    if grads:
        _grad_parity(fn, a, b, state, tol, rng)
    state.restore()


def _parity(fn, a, b, state, tol, what) -> None:
    """Trace on ``a``, run the cached graph on ``b``; compare with eager and the interpreter."""
    state.restore()
    eager_a = _flat(fn(*_fresh(a)))
    state.restore()
    compiled = _compile(fn)
    traced_a = _flat(compiled(*_fresh(a)))
    _compare(traced_a, eager_a, tol, f"{what}: the tracing call (on inputs A)")
    state.restore()
    b_in = _fresh(b)
    got_b = _flat(compiled(*b_in))
    after_compiled = state.snapshot()
    programs = compiled.programs
    if len(programs) != 1:
        raise AssertionError(
            f"{what}: the compiled function holds {len(programs)} graphs after two calls with "
            "the same signature (expected 1: the second call must run the cached graph)"
        )
    state.restore()
    want_b = _flat(fn(*_fresh(b)))
    _compare(got_b, want_b, tol, f"{what}: compiled on new data B")
    _compare_state(after_compiled, state.snapshot(), tol, what)
    _interpret(programs[0], b_in, want_b, tol, what)


def _interpret(program, b_in, want, tol, what) -> None:
    """The reference interpreter on the optimized graph and on the graph as traced."""
    leaves, _ = flatten((tuple(b_in), {}))
    n = len(want[0])
    feed = program.feed(leaves)
    got = run_graph(program.optimized, feed)[:n]
    _compare((got, want[1]), want, tol, f"{what}: interpreter (optimized graph) on B")
    raw = [t._data for t in leaves] + [c.current() for c in program.all_captures]
    got = run_graph(program.graph, raw)[:n]
    _compare((got, want[1]), want, tol, f"{what}: interpreter (traced graph) on B")


def _grad_parity(fn, a, b, state, tol, rng) -> None:
    params = state.trainable()
    diff = [i for i, x in enumerate(a) if _is_float(x) and x.requires_grad]
    state.restore()
    outs = [o for o in flatten(fn(*_fresh(a)))[0] if o._rg]
    if not outs or not (diff or params):
        return
    n = len(a)

    def with_grads(*args):
        xs, us = args[:n], args[n:]
        result = fn(*xs)
        live = [o for o in flatten(result)[0] if o._rg]
        wrt = [xs[i] for i in diff] + params
        gs = _autograd_grad(live, wrt, grad_outputs=list(us), allow_unused=True)
        return result, list(gs)

    def upstream():
        return [_wrap(rng.uniform(-1, 1, o._data.shape).astype(o._data.dtype)) for o in outs]

    _parity(with_grads, a + upstream(), b + upstream(), state, tol, "gradients")


# ---- comparing ---------------------------------------------------------------------------


def _flat(result):
    """(tensor leaves as arrays, structure) of a call's result."""
    leaves, spec = flatten(result)
    return [t._data for t in leaves], spec


def _compare(got, want, tol, what) -> None:
    (g, g_spec), (w, w_spec) = got, want
    if g_spec != w_spec:
        raise AssertionError(f"{what}: result structure {g_spec} != eager {w_spec}")
    for i, (x, y) in enumerate(zip(g, w)):
        assert_close(np.asarray(x), y, *tol, msg=f"{what}: output {i}")


def _compare_state(got: dict, want: dict, tol, what) -> None:
    for name, y in want.items():
        assert_close(got[name], y, *tol, msg=f"{what}: state {name} after the compiled call")


# ---- inputs --------------------------------------------------------------------------------


def _is_float(x) -> bool:
    return isinstance(x, Tensor) and x._data.dtype.kind == "f"


def _shuffled(x, rng):
    if not isinstance(x, Tensor):
        return x
    flat = x._data.reshape(-1).copy()
    rng.shuffle(flat)
    return _wrap(flat.reshape(x._data.shape)).requires_grad_(x.requires_grad)


def _same_signature(a, b) -> None:
    if len(a) != len(b):
        raise ValueError(f"check_parity: {len(a)} inputs but {len(b)} inputs_b")
    for i, (x, y) in enumerate(zip(a, b)):
        if isinstance(x, Tensor) != isinstance(y, Tensor):
            raise ValueError(f"check_parity: input {i} is a tensor in one set only")
        if isinstance(x, Tensor) and (x.shape, x.dtype) != (y.shape, y.dtype):
            raise ValueError(
                f"check_parity: input {i} is {x.dtype.name}{list(x.shape)} in A but "
                f"{y.dtype.name}{list(y.shape)} in B (B must have the same signature)"
            )


def _detached(xs) -> list:
    return [_wrap(x._data) if isinstance(x, Tensor) else x for x in xs]


def _fresh(xs) -> list:
    """Copies of the inputs (a call that changes an input in place must not leak into the
    next form's call)."""
    return [
        _wrap(x._data.copy()).requires_grad_(x.requires_grad) if isinstance(x, Tensor) else x
        for x in xs
    ]


class _State:
    """The parameters and buffers of the module ``fn`` is (or is a method of): every form
    starts from the same state, and the state each leaves behind is compared."""

    def __init__(self, fn):
        from ember.nn.module import Module

        owner = fn if isinstance(fn, Module) else getattr(fn, "__self__", None)
        self.module = owner if isinstance(owner, Module) else None
        self.tensors = {}
        if self.module is not None:
            self.tensors = dict(self.module.named_parameters())
            self.tensors.update(
                (n, t) for n, t in self.module.named_buffers() if isinstance(t, Tensor)
            )
        self.saved = {n: t._data.copy() for n, t in self.tensors.items()}

    def trainable(self) -> list:
        if self.module is None:
            return []
        return [p for p in self.module.parameters() if p.requires_grad]

    def restore(self) -> None:
        for n, t in self.tensors.items():
            np.copyto(t._data, self.saved[n])
            t._grad = None

    def snapshot(self) -> dict:
        return {n: t._data.copy() for n, t in self.tensors.items()}
