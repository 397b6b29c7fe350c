"""0-d float64 chains run as Python floats in generated code, with eager mode's bits."""

import math

import numpy as np
import pytest

import ember
from ember.backends.numpy import scalars
from ember.ops.registry import OPS

EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, -8.0, 1e300, -1e300, 1e-320, np.inf, -np.inf, np.nan, 7.0]


def _same(a, b) -> bool:
    a, b = np.float64(a), np.float64(b)
    return (np.isnan(a) and np.isnan(b)) or a.tobytes() == b.tobytes()


@pytest.mark.parametrize("a", EDGES)
@pytest.mark.parametrize("b", EDGES)
def test_helpers_give_the_ops_answers_where_python_would_raise(a, b):
    x, y = np.asarray(a), np.asarray(b)
    with np.errstate(all="ignore"):
        assert _same(scalars._sdiv(a, b), OPS["div"].forward(x, y))
        assert _same(scalars._spow(a, b), OPS["pow"].forward(x, y))
        assert _same(scalars._ssqrt(a), np.sqrt(x))
        for op, fn in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply)]:
            got = eval(scalars._EXPRESSIONS[op].format("a", "b"))  # noqa: S307 - our own text
            assert _same(got, fn(x, y)), op


def _bias_corrections(step, lr):
    """Adam's per-parameter numbers, as its compiled update computes them."""
    t = step + 1
    size = (lr / (1 - 0.9**t)).to(ember.float32)
    bc2 = (1 - 0.999**t).sqrt().to(ember.float32)
    return t, size, bc2, (t * 2 - lr) / t, -t


@pytest.mark.parametrize("step", [0.0, 1.0, 6.0, 99.0, -1.0, 1e6, np.nan])
def test_a_compiled_chain_matches_eager_bit_for_bit(step):
    compiled = ember.compile(_bias_corrections)
    lr = ember.tensor(1e-3, dtype=ember.float64)
    s = ember.tensor(step, dtype=ember.float64)
    with np.errstate(all="ignore"):  # step -1: 0.9 ** 0 = 1, a zero divisor
        want = _bias_corrections(s, lr)
        compiled(s, lr)  # the first call traces (and runs eagerly)
        got = compiled(s, lr)
    for w, g in zip(want, got):
        assert w.dtype == g.dtype and w.shape == g.shape == ()
        assert _same(w.item(), g.item()), (w, g)
    source = compiled.programs[0].fn.source
    assert "_spow(" in source and "f_pow" not in source  # the chain took the float path
    assert math.isfinite(got[1].item()) or step == -1.0 or np.isnan(step)


def test_values_read_elsewhere_are_arrays_and_literal_exponents_stay_numpy():
    def f(t, x):
        u = t * 3.0
        return x * u.to(ember.float32), u, t**2.5

    compiled = ember.compile(f)
    t, x = ember.tensor(1.7, dtype=ember.float64), ember.ones(4)
    compiled(t, x)  # the first call traces
    for w, g in zip(f(t, x), compiled(t, x)):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
        assert g.dtype == w.dtype
    source = compiled.programs[0].fn.source
    assert "_spow(" not in source  # t ** 2.5 uses np.power in eager mode too
