"""Row sums through BLAS (``ember.ops.row_sum``) against float64 references, and the
layouts that must fall back to NumPy's own reduction."""

import numpy as np
import pytest

from ember.ops.row_sum import MAX_ROW, row_sum


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "shape,axis",
    [((64, 10), (1,)), ((16, 4, 64, 64), (3,)), ((8, 3, 5), (1, 2)), ((100, MAX_ROW), (1,))],
)
@pytest.mark.parametrize("keepdims", [False, True])
def test_row_sum_matches_a_float64_sum(dtype, shape, axis, keepdims):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    got = row_sum(x, axis, keepdims)
    want = np.add.reduce(x.astype(np.float64), axis=axis, keepdims=keepdims)
    assert got.dtype == dtype and got.shape == want.shape
    n = np.prod([shape[d] for d in axis])
    tol = np.finfo(dtype).eps * n * np.abs(x).max()  # the worst-case bound of a plain sum
    np.testing.assert_allclose(got, want, rtol=0, atol=tol)


def test_row_sum_writes_into_out():
    x = np.random.default_rng(1).standard_normal((32, 7)).astype(np.float32)
    out = np.full((32, 1), np.nan, np.float32)
    assert row_sum(x, (1,), True, out=out) is out
    np.testing.assert_allclose(out[:, 0], x.astype(np.float64).sum(1), rtol=1e-6)


def test_row_sum_propagates_inf_and_nan():
    x = np.ones((16, 4), np.float32)
    x[0, 1], x[1, 2], x[2, 0], x[2, 3] = np.inf, np.nan, np.inf, -np.inf
    with np.errstate(invalid="ignore"):  # inf - inf, as np.sum warns too
        got = row_sum(x, (1,), False)
    assert got[0] == np.inf and np.isnan(got[1]) and np.isnan(got[2]) and got[3] == 4


@pytest.mark.parametrize(
    "x,axis",
    [
        (np.ones((16, 8), np.float32)[:, ::2], (1,)),  # not contiguous
        (np.ones((16, 8), np.float32), (0,)),  # a leading axis: NumPy is fast there
        (np.ones((16, MAX_ROW + 1), np.float32), (1,)),  # long rows keep pairwise sums
        (np.ones((4, 8), np.float32), (1,)),  # few rows
        (np.ones((16, 8), np.float16), (1,)),  # no float16 BLAS
        (np.ones((16, 8), np.int64), (1,)),
    ],
)
def test_other_layouts_are_numpys_own_sum(x, axis):
    got = row_sum(x, axis, False)
    want = np.add.reduce(x, axis=axis)
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()


LEADING = [
    ((128, 256), (0,)),
    ((128, 10), (0,)),
    ((4, 5, 6), (0, 1)),
    ((3, 4, 5), (0,)),
    ((2, 3), (0,)),
    ((70000, 4), (0,)),
    ((2, 100000), (0,)),
    ((128, 1), (0,)),  # one column: NumPy's pairwise sum, kept
    ((1, 9), (0,)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,axis", LEADING, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("into", [False, True])
def test_a_sum_over_leading_axes_has_numpys_bits(dtype, shape, axis, keepdims, into):
    """The bias-gradient sum: the native column sum adds rows in NumPy's order."""
    x = (np.random.default_rng(2).standard_normal(shape) * 3).astype(dtype)
    x.reshape(-1, x.shape[-1])[:, -1] = -0.0  # NumPy sums a column of -0.0 to +0.0
    x.flat[:3] = [np.inf, -0.0, np.nan][: x.size]
    want = np.add.reduce(x, axis=axis, keepdims=keepdims)
    out = np.full(want.shape, 7.0, dtype) if into else None
    with np.errstate(invalid="ignore"):
        got = row_sum(x, axis, keepdims, out=out)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert out is None or got is out
    np.testing.assert_array_equal(got.view(f"u{x.itemsize}"), want.view(f"u{x.itemsize}"))


def test_a_leading_sum_into_its_own_input_gives_what_numpy_gives():
    x = np.random.default_rng(3).standard_normal((4, 8)).astype(np.float32)
    y = x.copy()
    np.add.reduce(y, axis=0, out=y[0])  # NumPy copies the overlapping input first
    got = row_sum(x, (0,), False, out=x[0])  # out is the first row, still to be read
    np.testing.assert_array_equal(got, y[0])
    np.testing.assert_array_equal(x, y)
