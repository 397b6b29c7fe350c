"""The native LSTM step (``lstm.c`` and its driver ``ember.native.lstm``): its float32
sigmoid and tanh against float64 NumPy, and the whole recurrence, forward and backward,
against ember's NumPy loops (``ember.native.use(False)``), which tests/ops/test_lstm.py
checks against PyTorch."""

import numpy as np
import pytest

import ember.native
from ember.native import build, parallel
from ember.native import lstm as native_lstm
from ember.ops import lstm as ops_lstm

pytestmark = pytest.mark.skipif(build.compiler() is None, reason="no C compiler on this machine")

TINY = np.finfo(np.float32).tiny


def _ulps(got, want):
    """|got - want| in float32 ulps of ``want`` (float64), where ``want`` is a normal float."""
    normal = np.abs(want) >= TINY
    ulp = np.spacing(np.abs(want[normal]).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64)[normal] - want[normal]) / ulp


def _grid():
    x = np.concatenate([np.linspace(-40, 40, 800_001), np.logspace(-40, 1.6, 20_000)])
    return np.concatenate([x, -x]).astype(np.float32)


def test_sigmoid_is_within_three_ulp_of_float64():
    x = _grid()
    want = 1 / (1 + np.exp(-x.astype(np.float64)))
    got = ember.native.sigmoid(x)
    assert _ulps(got, want).max() <= 3
    # below the smallest normal float the result flushes to zero
    assert np.all(np.abs(got[want < TINY]) <= TINY)


def test_tanh_is_within_three_ulp_of_float64_and_keeps_odd_symmetry():
    x = _grid()
    got = ember.native.tanh(x)
    assert _ulps(got, np.tanh(x.astype(np.float64))).max() <= 3
    np.testing.assert_array_equal(ember.native.tanh(-x), -got)


def test_specials():
    x = np.array([-0.0, 0.0, np.inf, -np.inf, np.nan, 200.0, -200.0], np.float32)
    t, s = ember.native.tanh(x), ember.native.sigmoid(x)
    assert np.signbit(t[0]) and not np.signbit(t[1])
    np.testing.assert_array_equal(t[[2, 3, 5, 6]], [1, -1, 1, -1])
    np.testing.assert_array_equal(s[[0, 2, 3, 5, 6]], [0.5, 1, 0, 1, 0])
    assert np.isnan(t[4]) and np.isnan(s[4])


def _inputs(rng, dtype, L=6, N=5, H=7, scale=1.0):
    proj = (rng.standard_normal((L, N, 4 * H)) * scale).astype(dtype)
    h0, c0 = (rng.standard_normal((N, H)).astype(dtype) for _ in range(2))
    w = (rng.standard_normal((4 * H, H)) * 0.5).astype(dtype)
    return proj, h0, c0, w


def _numpy(fn, *args, **kwargs):
    with ember.native.use(False):
        return fn(*args, **kwargs)


TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("scale", [1.0, 30.0], ids=["moderate", "saturating"])
def test_recurrence_matches_the_numpy_loops(dtype, reverse, scale):
    rng = np.random.default_rng(0)
    proj, h0, c0, w = _inputs(rng, dtype, scale=scale)
    out = native_lstm.forward(proj, h0, c0, w, reverse=reverse)
    want = _numpy(ops_lstm._forward, proj, h0, c0, w, reverse)
    assert out.dtype == dtype and out.shape == want.shape
    np.testing.assert_allclose(out, want, **TOL[dtype])
    assert np.isfinite(out).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("gradient", ["last_h", "every_h_and_c", "only_c"])
@pytest.mark.parametrize("weight", [True, False])
def test_backward_matches_the_numpy_loops(dtype, reverse, gradient, weight):
    rng = np.random.default_rng(1)
    proj, h0, c0, w = _inputs(rng, dtype)
    out = _numpy(ops_lstm._forward, proj, h0, c0, w, reverse)
    g = np.zeros_like(out)
    last = 0 if reverse else -1
    if gradient == "last_h":  # a classifier on the final hidden state
        g[last, 0] = rng.standard_normal(g.shape[2:])
    elif gradient == "every_h_and_c":
        g[:, :2] = rng.standard_normal(g[:, :2].shape)
    else:
        g[:, 1] = rng.standard_normal(g[:, 1].shape)
    assert len(native_lstm.backward(g, out, c0, w, reverse=reverse)) == 3  # the C path ran
    got = ops_lstm._backward(g, out, proj, h0, c0, w, reverse, weight)
    want = _numpy(ops_lstm._backward, g, out, proj, h0, c0, w, reverse, weight)
    assert len(got) == 4 and (got[3] is None) == (not weight)
    for a, b in zip(got, want):
        if b is None:
            continue
        assert a.dtype == dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, **TOL[dtype])


def test_threaded_rows_give_the_serial_bits(monkeypatch):
    rng = np.random.default_rng(2)
    proj, h0, c0, w = _inputs(rng, np.float32, N=9)
    g = rng.standard_normal((proj.shape[0], 7) + h0.shape).astype(np.float32)
    g[:, 2:] = 0
    serial = native_lstm.forward(proj, h0, c0, w, reverse=False)
    serial_grads = native_lstm.backward(g, serial, c0, w, reverse=False)
    monkeypatch.setattr(parallel, "MIN_WORK", [0])
    monkeypatch.setattr(parallel, "THREADS", [3])
    threaded = native_lstm.forward(proj, h0, c0, w, reverse=False)
    np.testing.assert_array_equal(threaded, serial)
    grads = native_lstm.backward(g, threaded, c0, w, reverse=False)
    for a, b in zip(grads, serial_grads):
        np.testing.assert_array_equal(a, b)


def test_strided_inputs_are_read_correctly():
    rng = np.random.default_rng(3)
    proj, h0, c0, w = _inputs(rng, np.float64)
    wide = np.repeat(proj, 2, axis=1)[:, ::2]  # same values, not contiguous
    out = native_lstm.forward(wide, h0.T.copy().T, c0, w, reverse=False)
    np.testing.assert_allclose(out, _numpy(ops_lstm._forward, proj, h0, c0, w, False), rtol=1e-12)


def test_declines_without_kernels_or_for_mixed_dtypes():
    rng = np.random.default_rng(4)
    proj, h0, c0, w = _inputs(rng, np.float32)
    with ember.native.use(False):
        assert native_lstm.forward(proj, h0, c0, w, reverse=False) is None
    assert native_lstm.forward(proj, h0.astype(np.float64), c0, w, reverse=False) is None
    assert native_lstm.forward(proj.astype(np.float16), h0, c0, w, reverse=False) is None
