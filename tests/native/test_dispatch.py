"""The C dispatcher (``dispatch.c``) against the Python ``apply`` it stands in for: the same
results, dtypes, views, version counters, graphs and errors, no reference leaks; and the whole
core suite on the Python dispatcher alone (``EMBER_NATIVE=0``)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.core import dispatch
from ember.native import build
from ember.native import dispatch as native_dispatch
from ember.ops.registry import OPS

pytestmark = pytest.mark.skipif(build.compiler() is None, reason="no C compiler on this machine")

ROOT = Path(__file__).resolve().parents[2]
RNG = np.random.default_rng(0)


def _t(shape=(3, 4), dtype=np.float32, rg=False):
    return ember.tensor(RNG.standard_normal(shape).astype(dtype), requires_grad=rg)


def test_the_c_dispatcher_is_installed():
    assert native_dispatch.status() == "C"
    assert dispatch.apply is not dispatch.python_apply
    assert type(dispatch.apply).__name__ == "builtin_function_or_method"


CALLS = [
    ("relu", lambda a, b: ((a,), {})),
    ("add", lambda a, b: ((a, b), {})),
    ("mul", lambda a, b: ((a, b), {})),
    ("exp", lambda a, b: ((a,), {})),
    ("sum", lambda a, b: ((a,), {"axis": (1,), "keepdims": True})),
    ("matmul", lambda a, b: ((a, b.transpose(0, 1).reshape(4, 3)), {})),
    ("reshape", lambda a, b: ((a,), {"shape": (4, 3)})),
    ("permute", lambda a, b: ((a,), {"dims": (1, 0)})),
    ("where", lambda a, b: ((a > b, a, b), {})),
    ("mul", lambda a, b: ((a, 2.5), {})),  # Python scalars ride along
    ("add", lambda a, b: ((3, a), {})),
    ("sub", lambda a, b: ((a, True), {})),
]


@pytest.mark.parametrize("rg", [False, True])
@pytest.mark.parametrize("name, make", CALLS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CALLS)])
def test_c_apply_gives_what_the_python_apply_gives(name, make, rg):
    a, b = _t(rg=rg), _t()
    args, attrs = make(a, b)
    got = dispatch.apply(OPS[name], args, attrs)
    want = dispatch.python_apply(OPS[name], args, attrs)
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    assert got.dtype == want.dtype and got.requires_grad == want.requires_grad == rg
    assert (got.grad_fn is None) == (want.grad_fn is None)
    if rg:
        assert got.grad_fn.name() == want.grad_fn.name()
        got.sum().backward()
        g1 = a.grad.numpy().copy()
        a.grad = None
        want.sum().backward()
        np.testing.assert_array_equal(g1, a.grad.numpy())


@pytest.mark.parametrize(
    "dtype, scalar", [(np.int64, 2), (np.int32, 7), (np.int64, 2.5), (np.bool_, 1), (np.bool_, 1.5)]
)
def test_scalars_promote_as_in_the_python_apply(dtype, scalar):
    x = ember.tensor(np.arange(6).reshape(2, 3).astype(dtype))
    for name in ("add", "mul", "sub"):
        got = dispatch.apply(OPS[name], (x, scalar), {})
        want = dispatch.python_apply(OPS[name], (x, scalar), {})
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_parameters_take_the_fast_path_with_the_same_results():
    p = ember.nn.Parameter(RNG.standard_normal((3, 4)).astype(np.float32))
    x = _t((2, 4))
    for name, args, attrs in [
        ("linear", (x, p), {}),
        ("mul", (p, 2.0), {}),
        ("reshape", (p,), {"shape": (12,)}),
    ]:
        got = dispatch.apply(OPS[name], args, attrs)
        want = dispatch.python_apply(OPS[name], args, attrs)
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
        assert got.grad_fn.name() == want.grad_fn.name()
    v = p.detach().reshape(12)
    assert type(v) is ember.Tensor and v._vc is p._vc


def test_a_subclass_that_shadows_a_slot_goes_to_the_python_apply():
    class Odd(ember.Tensor):  # _data through a property: the offsets would not see it
        __slots__ = ()

        @property
        def _data(self):
            return np.full(2, 7.0, np.float32)

    t = Odd.__new__(Odd)
    fields = {"_data": np.zeros(2, np.float32), "_rg": False, "_grad": None, "_node": None}
    fields.update({"_vc": [0], "_base": None, "_hooks": None, "_out_idx": 0})
    for name, value in fields.items():  # through Tensor's slots, under the property
        getattr(ember.Tensor, name).__set__(t, value)
    np.testing.assert_array_equal((t + 1.0).numpy(), [8.0, 8.0])


def test_a_view_shares_the_version_counter_and_base_and_a_copy_does_not():
    x = _t((2, 6))
    v = x.reshape(3, 4)
    assert v._vc is x._vc and v._base is x and v.reshape(12)._base is x
    c = x.transpose(0, 1).reshape(12)  # not contiguous: the reshape copies
    assert c._vc is not x._vc and c._base is None
    x.add_(1.0)  # the view sees the write and its version moves with it
    np.testing.assert_array_equal(v.numpy(), x.numpy().reshape(3, 4))
    assert v._version == x._version


def test_in_place_change_of_a_recorded_view_is_caught():
    w = _t((2, 3), rg=True)
    y = w * 1.0
    v = y.reshape(6)
    loss = (v * v).sum()  # mul saves its inputs: the view
    y.add_(1.0)
    with pytest.raises(ember.AutogradError, match="has been modified by an in-place operation"):
        loss.backward()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: _t((2, 3)) + _t((4, 5)), r"add: .*\(2, 3\).*\(4, 5\)"),
        (lambda: _t((2, 3)) @ _t((4, 5)), r"matmul: shapes \(2, 3\) and \(4, 5\)"),
        (lambda: _t((2, 3)).reshape(7), r"reshape: shape \(7,\) is invalid for input of size 6"),
        (lambda: _t((2,), np.int64).exp().sigmoid() + _t((3,)), r"add: "),
    ],
)
def test_errors_name_the_op_as_the_python_apply_does(call, message):
    with pytest.raises(ember.EmberError, match=message):
        call()


def test_calls_the_fast_path_does_not_take_still_work():
    x = _t((2, 3))
    np.testing.assert_allclose((x * 2).numpy(), x.numpy() * 2)  # a Python scalar
    np.testing.assert_allclose((x + x.double()).numpy(), x.numpy().astype(np.float64) * 2)
    i = ember.tensor([1, 2, 3])
    assert i.exp().dtype == ember.float32  # integer input promoted by the Python path
    compiled = ember.compile(lambda a: (a * a).relu().sum())  # a trace records every op
    np.testing.assert_allclose(compiled(x).numpy(), (x * x).relu().sum().numpy(), rtol=1e-6)


def test_no_references_leak():
    x, w = _t((4, 4)), _t((4, 4), rg=True)
    attrs = {"shape": (16,)}
    before = [sys.getrefcount(o) for o in (x._data, x._vc, OPS["relu"], attrs, w)]
    for _ in range(20_000):
        dispatch.apply(OPS["relu"], (x,), {})
        dispatch.apply(OPS["reshape"], (x,), attrs)
        (w.reshape(16) * w.reshape(16)).sum()
        with pytest.raises(ember.ShapeError):
            dispatch.apply(OPS["reshape"], (x,), {"shape": (5,)})
        x.reshape(16), x.reshape((2, 8)), x.transpose(0, 1).reshape(16), x.sum()  # C methods
        with pytest.raises(ember.ShapeError):
            x.reshape(5)
    after = [sys.getrefcount(o) for o in (x._data, x._vc, OPS["relu"], attrs, w)]
    assert after == before


def test_the_core_suite_passes_on_the_python_dispatcher():
    env = dict(os.environ, EMBER_NATIVE="0")
    code = "from ember.native import dispatch; print(dispatch.status())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "Python (EMBER_NATIVE is off)"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/core"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_a_layout_the_c_code_cannot_read_keeps_the_python_apply(monkeypatch):
    class NoSlots:  # an Op type whose fields are not slots
        pass

    monkeypatch.setattr(native_dispatch, "_state", {"why": ""})
    got = native_dispatch.fast_apply(
        dispatch.python_apply,
        dispatch._record,
        dispatch._as_view,
        ember.Tensor,
        NoSlots,
        [None],
        [False],
        [True],
    )
    assert got is None and native_dispatch.status().startswith("Python (")


def test_an_op_of_another_type_goes_to_the_python_apply():
    class NotAnOp:  # the Python apply reads its fields by name; the C one would not
        prep, direct, view, vjp, name = False, frozenset(), False, None, "not_an_op"

        @staticmethod
        def forward(x):
            return x + 1

    got = dispatch.apply(NotAnOp(), (_t((2,)),), {})
    assert got.shape == (2,)


def test_a_c_built_tensor_has_the_fields_wrap_sets():
    # dispatch.c builds result Tensors itself: the slots it sets must be the ones _wrap sets
    from ember.core.tensor import _wrap

    c_made = dispatch.apply(OPS["exp"], (_t((2,)),), {})
    py_made = _wrap(np.zeros(2, np.float32))
    for name in ember.Tensor.__slots__:
        assert hasattr(c_made, name) == hasattr(py_made, name), name
        if name not in ("_data", "_vc", "__weakref__") and hasattr(py_made, name):
            assert getattr(c_made, name) == getattr(py_made, name), name
    assert c_made._vc == py_made._vc and c_made._vc is not py_made._vc


# ---- Tensor.reshape and Tensor.sum: their common call in C ---------------------------------


def test_reshape_and_sum_are_c_methods_with_the_python_docstrings():
    from ember.api import reduce as reduce_api
    from ember.api import shape as shape_api

    for name, python in (("reshape", shape_api.reshape), ("sum", reduce_api.sum)):
        method = getattr(ember.Tensor, name)
        assert type(method).__name__ == "method_descriptor"
        assert method.__doc__ == python.__doc__
    assert ember.Tensor.reshape(_t((2, 3)), 6).shape == (6,)  # called unbound
    with pytest.raises(TypeError):
        ember.Tensor.sum(np.zeros(3))


RESHAPES = [
    ((2, 6), (12,)),
    ((2, 6), (3, 4)),
    ((2, 6), ((3, 4),)),
    ((2, 6), ([4, 3],)),
    ((2, 6), (-1, 2)),
    ((2, 6), ((2, -1, 3),)),
    ((1,), ((),)),
    ((0, 3), (3, 0)),
    ((0, 3), (-1, 3)),
]


@pytest.mark.parametrize("rg", [False, True])
@pytest.mark.parametrize("shape, args", RESHAPES)
def test_the_reshape_method_gives_what_the_python_function_gives(shape, args, rg):
    from ember.api import shape as shape_api

    x = _t(shape, rg=rg)
    got, want = x.reshape(*args), shape_api.reshape(x, *args)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    assert (got.grad_fn is None) == (want.grad_fn is None) == (not rg)
    if not rg:  # a view: shares the version counter and base, as the Python path's view does
        assert got._vc is want._vc is x._vc and got._base is want._base is x


def test_a_reshape_that_copies_is_a_new_leaf_and_the_view_of_a_view_keeps_the_root_base():
    x = _t((3, 4))
    c = x.transpose(0, 1).reshape(12)  # not contiguous: NumPy copies
    assert c._vc is not x._vc and c._base is None
    v = x.reshape(12).reshape(2, 6)
    assert v._base is x and v._vc is x._vc
    x.mul_(2.0)
    np.testing.assert_array_equal(v.numpy(), x.numpy().reshape(2, 6))
    assert v._version == x._version


@pytest.mark.parametrize(
    "args, message",
    [
        ((5,), r"reshape: shape \(5,\) is invalid for input of size 6"),
        ((-1, -1), r"reshape: only one dimension can be inferred"),
        ((4, -1), r"reshape: shape \(4, -1\) is invalid for input of size 6"),
        (("a",), r"reshape: a shape is a sequence of ints"),
        ((2.0, 3), r"reshape: 'float' object cannot be interpreted as an integer"),
    ],
)
def test_bad_reshapes_raise_the_python_methods_errors(args, message):
    with pytest.raises(ember.EmberError, match=message):
        _t((2, 3)).reshape(*args)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 4), (3, 0), (), (5, 7, 3)])
def test_the_sum_method_gives_what_the_op_gives(dtype, shape):
    x = _t(shape, dtype)
    got = x.sum()
    want = dispatch.python_apply(
        OPS["sum"], (x,), {"axis": tuple(range(x.ndim)), "keepdims": False}
    )
    assert got.shape == () and got.dtype == want.dtype == x.dtype
    np.testing.assert_array_equal(got.numpy(), want.numpy())  # bit for bit: the same reduce
    np.testing.assert_allclose(got.numpy(), np.sum(x.numpy(), dtype=np.float64), rtol=2e-3)


def test_sum_calls_the_c_method_does_not_take_go_to_the_python_method():
    i = ember.tensor([[1, 2], [3, 4]], dtype=ember.int32)
    assert i.sum().dtype == ember.int64 and i.sum().item() == 10
    assert ember.tensor([True, True, False]).sum().item() == 2
    x = _t((3, 4))
    np.testing.assert_allclose(x.sum(1).numpy(), x.numpy().sum(1), rtol=1e-6)
    np.testing.assert_allclose(
        x.sum(dim=0, keepdim=True).numpy(), x.numpy().sum(0, keepdims=True), rtol=1e-6
    )
    assert x.sum(dtype=ember.float64).dtype == ember.float64
    w = _t((3, 4), rg=True)
    w.sum().backward()  # a tensor that records: the Python method records the node
    np.testing.assert_array_equal(w.grad.numpy(), np.ones((3, 4), np.float32))


def test_a_trace_records_reshape_and_sum_of_tensors_that_need_no_gradient():
    x = _t((2, 6))
    compiled = ember.compile(lambda a: (a.reshape(3, 4) * 2.0).sum())
    first, second = compiled(x), compiled(x)  # the second call runs the compiled graph
    want = (x.numpy().reshape(3, 4) * 2.0).sum()
    np.testing.assert_allclose([first.item(), second.item()], [want, want], rtol=1e-6)
    y = _t((2, 6))
    np.testing.assert_allclose(compiled(y).item(), (y.numpy() * 2.0).sum(), rtol=1e-6)
    ops = {n.op for n in compiled.graph(x, optimized=False).nodes}
    assert {"reshape", "sum"} <= ops
