"""The direct convolution kernels (``conv.c`` through ``ember.native.conv``) against
PyTorch: forward, input and weight gradients over shapes that exercise every tile (1-4
output channels per tile, 1-3 positions, rows that end in an overlapping vector), specials
in the overlapped lanes, the threaded splits, and where they decline."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember.native
from ember.native import build, parallel
from ember.native import conv as native_conv

pytestmark = pytest.mark.skipif(build.compiler() is None, reason="no C compiler on this machine")

# (n, c, h, w, o, k): LeNet-5's two layers, rows of 8, 10, 11, 12, 17, 24, 30 columns, 1 to
# 9 output channels (every tile height), kernels 1 to 7 (3, 5 and 7 take the kernel-row
# weight tiles, 1 and 4 the per-tap ones)
SHAPES = [
    (4, 1, 28, 28, 6, 5),
    (4, 6, 12, 12, 16, 5),
    (2, 3, 9, 15, 5, 3),
    (3, 2, 21, 19, 7, 3),
    (2, 5, 10, 11, 9, 1),
    (1, 1, 12, 12, 1, 5),
    (2, 3, 30, 36, 2, 7),
    (3, 2, 5, 14, 3, 3),
    (2, 2, 9, 13, 6, 4),
]
EPS = {np.float32: 4e-6, np.float64: 1e-13}


def _close(got, want, dtype):
    """Within a few roundings of the largest term: sums of thousands of products (the
    weight gradient's) lose absolute, not relative, precision near zero."""
    scale = max(1.0, float(np.abs(want).max(initial=0)))
    np.testing.assert_allclose(got, want, rtol=5 * EPS[dtype], atol=EPS[dtype] * scale)


def _torch(x, w, b, g):
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, w))
    y = TF.conv2d(tx, tw, None if b is None else torch.tensor(b))
    y.backward(torch.tensor(g))
    return y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch(shape, dtype, bias):
    n, c, h, wd, o, k = shape
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal((n, c, h, wd)).astype(dtype)
    w = rng.standard_normal((o, c, k, k)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    g = rng.standard_normal((n, o, h - k + 1, wd - k + 1)).astype(dtype)
    want_y, want_gx, want_gw = _torch(x, w, b, g)
    y = native_conv.forward(x, w, b)
    assert y.dtype == dtype
    _close(y, want_y, dtype)
    gx = native_conv.input_grad(g, w, h, wd)
    if gx is not None:  # None: the padded gradient's rows would be narrower than a vector
        _close(gx, want_gx, dtype)
    _close(native_conv.weight_grad(x, g, k, k), want_gw, dtype)


def test_infinities_in_repeated_lanes_stay_infinite():
    # rows of 12 float32 columns: the second vector repeats 4 columns of the first; the
    # weight gradient masks them in both factors, so an inf there gives inf, never the
    # NaN of a masked-out 0 times inf
    x = np.ones((1, 1, 3, 14), np.float32)
    x[0, 0, 1, 5] = np.inf
    w = np.ones((2, 1, 3, 3), np.float32)
    g = np.ones((1, 2, 1, 12), np.float32)
    _, _, want = _torch(x, w, None, g)
    got = native_conv.weight_grad(x, g, 3, 3)
    np.testing.assert_array_equal(got, want)
    assert np.isinf(got[0]).any() and not np.isnan(got).any()


def test_nan_propagates_like_torch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 10, 12)).astype(np.float32)
    x[1, 0, 4, 7] = np.nan
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    g = rng.standard_normal((2, 3, 8, 10)).astype(np.float32)
    want_y, _, want_gw = _torch(x, w, None, g)
    y, gw = native_conv.forward(x, w, None), native_conv.weight_grad(x, g, 3, 3)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(want_y))
    np.testing.assert_array_equal(np.isnan(gw), np.isnan(want_gw))


def test_threaded_splits_give_the_serial_bits(monkeypatch):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3, 14, 20)).astype(np.float32)
    w = rng.standard_normal((9, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(9).astype(np.float32)
    g = rng.standard_normal((5, 9, 12, 18)).astype(np.float32)
    serial = [
        native_conv.forward(x, w, b),
        native_conv.input_grad(g, w, 14, 20),
        native_conv.weight_grad(x, g, 3, 3),
    ]
    monkeypatch.setattr(parallel, "MIN_WORK", [0])
    monkeypatch.setattr(parallel, "THREADS", [3])
    threaded = [
        native_conv.forward(x, w, b),
        native_conv.input_grad(g, w, 14, 20),
        native_conv.weight_grad(x, g, 3, 3),
    ]
    for a, b_ in zip(threaded, serial):
        np.testing.assert_array_equal(a, b_)


def test_strided_inputs_are_read_correctly():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 10, 24))
    w = rng.standard_normal((3, 2, 3, 3))
    view = x[:, :, :, ::2]  # 12 columns, not contiguous
    np.testing.assert_allclose(
        native_conv.forward(view, w, None), _torch(view.copy(), w, None, np.zeros((2, 3, 8, 10)))[0]
    )


def test_declines_narrow_rows_mixed_dtypes_and_no_kernels():
    x, w = np.ones((1, 1, 8, 8), np.float32), np.ones((1, 1, 3, 3), np.float32)
    lanes = ember.native.vector_lanes(4)
    assert lanes in (4, 8, 16)
    narrow = np.ones((1, 1, 8, lanes + 1), np.float32)  # rows of lanes - 1 outputs
    assert native_conv.forward(narrow, w, None) is None
    assert native_conv.forward(x, w.astype(np.float64), None) is None
    with ember.native.use(False):
        assert native_conv.forward(x, w, None) is None
        assert ember.native.vector_lanes(4) == 0
