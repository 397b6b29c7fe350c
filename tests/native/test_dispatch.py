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
