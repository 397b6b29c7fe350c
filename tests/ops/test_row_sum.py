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
