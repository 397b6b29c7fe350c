"""``ember.native.call``: a generated kernel run on arrays that the extension has checked, the
same bits as the ctypes call, and every array that does not fit refused before the kernel
reads it."""

import sys

import numpy as np
import pytest

from ember.backends.numpy import fused_c
from ember.ir import Graph
from ember.native import build, call
from ember.passes.fuse import fuse

pytestmark = pytest.mark.skipif(build.compiler() is None, reason="no C compiler on this machine")

F32 = np.float32


@pytest.fixture(scope="module")
def kernel():
    """out = relu(x + b) * s, x (4, 6), b (6,), s 0-d: spec e, c, o, then w."""
    g = Graph()
    x, b = g.add_input(F32, (4, 6), "x"), g.add_input(F32, (6,), "b")
    s = g.add_input(F32, (), "s")
    y = g.add_node("relu", [g.add_node("add", [x, b]).outputs[0]]).outputs[0]
    g.outputs = [g.add_node("mul", [y, s]).outputs[0]]
    (node,) = fuse(g).nodes
    return fused_c.compile_nodes([node])[node]


def _arrays(rng):
    x = rng.standard_normal((4, 6)).astype(F32)
    b = rng.standard_normal(6).astype(F32)
    return x, b, np.asarray(1.5, F32)


def test_the_extension_builds_here():
    assert call.kernel_call() is not None


def test_a_checked_call_computes_what_numpy_does(kernel):
    rng = np.random.default_rng(0)
    x, b, s = _arrays(rng)
    out = np.empty((4, 6), F32)
    status = call.kernel_call()(kernel.packed, kernel.split, x.shape, kernel.spec, [x, b, s, out])
    assert status == 0
    np.testing.assert_array_equal(out, np.maximum(x + b, 0) * s)


def test_arrays_that_do_not_fit_are_refused_before_the_kernel_runs(kernel):
    rng = np.random.default_rng(1)
    x, b, s = _arrays(rng)
    out = np.full((4, 6), 7.0, F32)
    cases = [
        (ValueError, "array 1 is not f-format of kind c", [x, b[:5].copy(), s, out]),
        (ValueError, "array 0 is not f-format", [x.astype(np.float64), b, s, out]),
        (ValueError, "array 3 is not f-format of kind w", [x, b, s, out[:3].copy()]),
        (ValueError, "not C-contiguous", [np.asfortranarray(x), b, s, out]),
        (ValueError, "not C-contiguous", [x, b, s, np.empty((6, 4), F32).T]),
        (TypeError, "bytes-like object is required", [x, b, 1.5, out]),
        (ValueError, "kind e", [x, b, s, out], (4, 5)),  # the sizes come from the shape
        (ValueError, "split 3 of a 2-d shape", [x, b, s, out], (4, 6), 3),
        (ValueError, "NULL kernel", [x, b, s, out], (4, 6), 1, 0),
    ]
    for err, match, arrays, *how in cases:
        shape, split, fn = how + [(4, 6), 1, kernel.packed][len(how) :]
        with pytest.raises(err, match=match):
            call.kernel_call()(fn, split, shape, kernel.spec, arrays)
        np.testing.assert_array_equal(out, 7.0)  # nothing written
    readonly = np.zeros((4, 6), F32)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        call.kernel_call()(kernel.packed, 1, (4, 6), kernel.spec, [x, b, s, readonly])
    np.testing.assert_array_equal(readonly, 0.0)
    with pytest.raises(TypeError, match="call"):
        call.kernel_call()(kernel.packed, 1, [4, 6], kernel.spec, [x, b, s, out])
    with pytest.raises(TypeError, match="call"):  # at most six extra ints
        call.kernel_call()(kernel.packed, 1, (4, 6), kernel.spec, [x, b, s, out], *range(7))


def test_the_kernel_object_falls_back_and_names_what_is_wrong(kernel):
    rng = np.random.default_rng(2)
    x, b, s = _arrays(rng)
    want = np.maximum(x + b, 0) * s
    # float64 and strided inputs are converted by the checked path, the bits unchanged
    (got,) = kernel([x.astype(np.float64), np.repeat(b, 2)[::2], 1.5, None])
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match=r"input of shape \(5,\) does not fit the output"):
        kernel([x, b[:5], s, None])
    with pytest.raises(ValueError, match="output buffer"):
        kernel([x, b, s, np.empty((4, 6), np.float64)])


def test_no_reference_is_leaked(kernel):
    rng = np.random.default_rng(3)
    x, b, s = _arrays(rng)
    out = np.empty((4, 6), F32)
    fn = call.kernel_call()
    before = [sys.getrefcount(a) for a in (x, b, s, out)]
    for _ in range(100):
        fn(kernel.packed, kernel.split, x.shape, kernel.spec, [x, b, s, out])
        with pytest.raises(ValueError):
            fn(kernel.packed, kernel.split, x.shape, kernel.spec, [x, b[:5], s, out])
    assert [sys.getrefcount(a) for a in (x, b, s, out)] == before


def test_a_python_float_reaches_the_kernel_as_its_double():
    """Floats among the extra arguments are passed as their bits (the optimizer kernels
    read lr, betas and eps that way): an SGD step of float64 arrays against NumPy's."""
    from ember.native import kernel

    fn = kernel("sgd_step_packed", np.dtype(np.float64))
    rng = np.random.default_rng(4)
    p, g = rng.standard_normal(7), rng.standard_normal(7)
    lr = 0.1 + 1e-17 * 3  # a double that float32 could not hold
    want = p - lr * g
    status = call.kernel_call()(fn, 0, p.shape, b"wded", [p, g], lr, 0.0, 1.0, 0)
    assert status == 0
    np.testing.assert_array_equal(p, want)
