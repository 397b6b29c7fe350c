"""The native bit-pattern selects against np.where, bit for bit."""

import numpy as np
import pytest

import ember.native
from ember.native import build, select
from ember.ops.elementwise import select as ops_select

pytestmark = pytest.mark.skipif(build.compiler() is None, reason="no C compiler on this machine")

RNG = np.random.default_rng(0)
SPECIALS = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40]


def _values(dtype, n):
    if np.dtype(dtype).kind == "i":
        return RNG.integers(-100, 100, n).astype(dtype)
    v = RNG.standard_normal(n).astype(dtype)
    v[: len(SPECIALS)] = np.array(SPECIALS[:n], dtype)
    return v


def _bits(a):
    return a.view(f"u{a.itemsize}")


@pytest.mark.parametrize("path", ["call", "ctypes"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.int64])
@pytest.mark.parametrize("n", [1, 7, 33, 4099])
def test_selects_are_np_where_bit_for_bit(dtype, n, path, monkeypatch):
    """Through ember.native.call, or through ctypes when the extension is missing."""
    if path == "ctypes":
        monkeypatch.setattr(select, "kernel_call", lambda: None)
    a, b = _values(dtype, n), RNG.permutation(_values(dtype, n))
    cond = RNG.random(n) < 0.5
    np.testing.assert_array_equal(_bits(select.select(cond, a, b)), _bits(np.where(cond, a, b)))
    zero = np.zeros((), dtype)
    for keep in (True, False):
        want = np.where(cond == keep, a, zero)
        np.testing.assert_array_equal(_bits(select.select_zero(cond, a, keep)), _bits(want))


def test_select_writes_into_out():
    cond, a = np.array([True, False, True]), np.array([1.0, 2.0, 3.0])
    out = np.full(3, 9.0)
    assert select.select_zero(cond, a, True, out) is out
    assert out.tolist() == [1.0, 0.0, 3.0]


def test_selects_decline_other_layouts():
    a = np.ones((4, 4), np.float32)
    assert select.select(np.ones((4, 4), bool), a, a[:, :1]) is None  # broadcast
    assert select.select_zero(np.ones((4, 4), bool), a.T[:, ::2], True) is None  # strided
    assert select.select(np.ones(4, bool), np.ones(4, bool), np.ones(4, bool)) is None  # 1 byte
    assert select.select_zero(np.ones(4), np.ones(4), True) is None  # condition not bool
    assert select.select_zero(np.ones(4, bool), np.ones(4), True, out=np.ones(5)) is None


@pytest.mark.parametrize("zero", ["a", "b", None])
def test_the_ops_select_gives_the_same_bits_with_and_without_native(zero):
    n = 5000  # above the size where the ops select leaves np.where
    cond = RNG.random(n) < 0.3
    x, y = _values(np.float32, n), _values(np.float32, n)
    a, b = (0, y) if zero == "a" else (x, 0) if zero == "b" else (x, y)
    native = ops_select(cond, a, b)
    with ember.native.use(False):
        fallback = ops_select(cond, a, b)
    np.testing.assert_array_equal(_bits(native), _bits(fallback))
    np.testing.assert_array_equal(_bits(native), _bits(np.where(cond, a, b).astype(np.float32)))
