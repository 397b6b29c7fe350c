"""The native row kernels (layer norm, softmax) against float64 NumPy and PyTorch."""

import numpy as np
import pytest
import torch

import ember
import ember.native
from ember.native import build, parallel, rows

# without a C compiler ember runs its NumPy kernels (tested everywhere else); with one, the
# native library must build: test_build.py fails when it does not
pytestmark = pytest.mark.skipif(build.compiler() is None, reason="no C compiler on this machine")

RNG = np.random.default_rng(0)
DTYPES = [np.float32, np.float64]
TOL = {np.float32: 2e-5, np.float64: 1e-12}
WIDTHS = [1, 3, 12, 16, 24, 33, 128, 1000]  # every block and tail of the vector row max


def test_exp_is_within_one_ulp_of_float64():
    x = np.concatenate(
        [np.linspace(-104, 0, 400_001, dtype=np.float32), -np.logspace(-30, 1.9, 20_000)]
    ).astype(np.float32)
    y = ember.native.exp_nonpositive(x).astype(np.float64)
    ref = np.exp(x.astype(np.float64))
    normal = ref >= np.finfo(np.float32).tiny
    ulp = np.spacing(ref[normal].astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(y[normal] - ref[normal]) / ulp) <= 1.0
    # results below the smallest normal float flush to zero
    assert np.all(np.abs(y[~normal] - ref[~normal]) <= np.finfo(np.float32).tiny)


def test_exp_specials():
    x = np.array([-np.inf, np.nan, -0.0, 0.0, -88.0], np.float32)
    y = ember.native.exp_nonpositive(x)
    assert y[0] == 0 and np.isnan(y[1]) and y[2] == 1 and y[3] == 1 and y[4] == 0


def _layer_norm64(x, w, b, eps):
    x = x.astype(np.float64)
    xc = x - x.mean(-1, keepdims=True)
    y = xc / np.sqrt((xc * xc).mean(-1, keepdims=True) + eps)
    return y * (1 if w is None else w) + (0 if b is None else b)


def _params(n, dtype, w, b):
    make = lambda on: RNG.standard_normal(n).astype(dtype) if on else None  # noqa: E731
    return make(w), make(b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", WIDTHS)
@pytest.mark.parametrize("w, b", [(True, True), (True, False), (False, True), (False, False)])
def test_layer_norm_matches_float64(dtype, n, w, b):
    x = (RNG.standard_normal((7, n)) * 3 + 5).astype(dtype)
    w, b = _params(n, dtype, w, b)
    y = rows.layer_norm(x, w, b, 1e-5)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, _layer_norm64(x, w, b, 1e-5), rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", WIDTHS)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_grad_matches_torch_autograd(dtype, n, affine):
    x = (RNG.standard_normal((9, n)) * 2 - 1).astype(dtype)
    g = RNG.standard_normal((9, n)).astype(dtype)
    w, b = _params(n, dtype, affine, affine)
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tw = None if w is None else torch.tensor(w, dtype=torch.float64, requires_grad=True)
    tb = None if b is None else torch.tensor(b, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.layer_norm(tx, (n,), tw, tb, 1e-5).backward(
        torch.tensor(g, dtype=torch.float64)
    )
    ones = np.ones(n, dtype)
    gx, gw, gb = rows.layer_norm_grad(g, x, ones if w is None else w, 1e-5, affine, affine)
    tol = TOL[dtype] * (10 if n == 1000 else 1)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=tol, atol=tol)
    if affine:
        np.testing.assert_allclose(gw, tw.grad.numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(gb, tb.grad.numpy(), rtol=tol, atol=tol)
    else:
        assert gw is None and gb is None


def test_layer_norm_grad_writes_into_the_given_buffer():
    x, g = RNG.standard_normal((2, 4, 8)), RNG.standard_normal((2, 4, 8))
    out = np.empty((8, 8))
    gx, _, _ = rows.layer_norm_grad(g.reshape(8, 8), x.reshape(8, 8), np.ones(8), 1e-5, 0, 0, out)
    assert gx is out


def _softmax64(x):
    x = x.astype(np.float64)
    return torch.softmax(torch.tensor(x), -1).numpy(), torch.log_softmax(
        torch.tensor(x), -1
    ).numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", WIDTHS)
def test_softmax_and_log_softmax_match_torch_in_float64(dtype, n):
    x = (RNG.standard_normal((5, n)) * 8).astype(dtype)
    x[0] *= 1e3  # large spreads: exp underflows for most of the row
    want, want_log = _softmax64(x)
    np.testing.assert_allclose(rows.softmax(x), want, rtol=TOL[dtype] / 4, atol=1e-30)
    np.testing.assert_allclose(rows.log_softmax(x), want_log, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_specials_follow_torch(dtype):
    x = RNG.standard_normal((4, 20)).astype(dtype)
    x[0, 3] = -np.inf  # a masked entry: probability 0
    x[1, :] = -np.inf  # a fully masked row: nan
    x[2, 5] = np.nan  # nan spreads over its row
    x[3, 7] = np.inf  # inf - inf is nan
    tx = torch.tensor(x)
    np.testing.assert_allclose(rows.softmax(x), torch.softmax(tx, -1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(rows.log_softmax(x), torch.log_softmax(tx, -1).numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [5, 12, 24, 37])
def test_the_row_max_finds_the_max_and_nan_anywhere(dtype, n):
    """The row max is vectorized in blocks of 16, 8 (and 4) lanes with a scalar tail: a max
    or a NaN in each of those places must be seen, as PyTorch sees it."""
    for j in range(n):
        x = RNG.standard_normal((2, n)).astype(dtype)
        x[0, j] = 40.0  # the max: exp(x - max) underflows elsewhere if the max is missed
        x[1, j] = np.nan
        tx = torch.tensor(x)
        np.testing.assert_allclose(rows.softmax(x), torch.softmax(tx, -1).numpy(), rtol=1e-6)
        assert np.isnan(rows.log_softmax(x)[1]).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", WIDTHS)
def test_softmax_grad_matches_the_formula_in_float64(dtype, n):
    y = rows.softmax(RNG.standard_normal((6, n)).astype(dtype))
    g = RNG.standard_normal((6, n)).astype(dtype)
    y64, g64 = y.astype(np.float64), g.astype(np.float64)
    want = g64 * y64 - y64 * (g64 * y64).sum(-1, keepdims=True)
    np.testing.assert_allclose(rows.softmax_grad(g, y), want, rtol=TOL[dtype], atol=TOL[dtype])


def test_threaded_rows_give_the_serial_bits(monkeypatch):
    x = RNG.standard_normal((301, 64)).astype(np.float32)
    g = RNG.standard_normal((301, 64)).astype(np.float32)
    w = RNG.standard_normal(64).astype(np.float32)
    serial = [
        rows.softmax(x),
        rows.log_softmax(x),
        rows.softmax_grad(g, x),
        rows.layer_norm(x, w, w, 1e-5),
    ]
    serial_grad = rows.layer_norm_grad(g, x, w, 1e-5, True, True)
    monkeypatch.setattr(parallel, "MIN_WORK", [1])
    monkeypatch.setattr(parallel, "THREADS", [2])
    threaded = [
        rows.softmax(x),
        rows.log_softmax(x),
        rows.softmax_grad(g, x),
        rows.layer_norm(x, w, w, 1e-5),
    ]
    for a, b in zip(serial, threaded):
        np.testing.assert_array_equal(a, b)
    gx, gw, gb = rows.layer_norm_grad(g, x, w, 1e-5, True, True)
    np.testing.assert_array_equal(gx, serial_grad[0])
    # the parameter gradients add two partial sums: float64 sums rounded once to float32
    np.testing.assert_allclose(gw, serial_grad[1], rtol=1e-6)
    np.testing.assert_allclose(gb, serial_grad[2], rtol=1e-6)


def test_kernels_decline_what_they_do_not_cover():
    x16 = np.ones((2, 3), np.float16)
    assert rows.softmax(x16) is None and rows.layer_norm(x16, None, None, 1e-5) is None
    assert rows.softmax(np.ones((3, 4))[:, ::2]) is None  # not contiguous rows
    assert rows.softmax_grad(np.ones((2, 3)), np.ones((3, 2))) is None
    with ember.native.use(False):
        assert rows.softmax(np.ones((2, 3))) is None
        assert ember.native.status() == "disabled"
