"""Activation functions of ember.nn.functional against torch.nn.functional: values, dtypes,
gradients (first and second order), PyTorch's conventions at the kinks, ``inplace=True``,
and errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F
from ember.errors import EmberValueError
from ember.testing.compare import assert_close
from ember.testing.optest import OpCase, params, run_case

FLOATS = ("float16", "float32", "float64")
WITH_INTS = FLOATS + ("int32", "int64")


def _inplace(efn, tfn, **kw):
    """``fn(x * 1, inplace=True)``: in place on a non-leaf, so gradients flow through."""
    return (
        lambda a: efn(a * 1, inplace=True, **kw),
        lambda a: tfn(a * 1, inplace=True, **kw),
    )


CASES = [
    OpCase("relu", F.relu, TF.relu, dtypes=WITH_INTS),
    OpCase("relu_inplace", *_inplace(F.relu, TF.relu)),
    OpCase("relu6", F.relu6, TF.relu6, dtypes=WITH_INTS, domain=(-2.0, 8.0)),
    OpCase("leaky_relu", F.leaky_relu, TF.leaky_relu),
    OpCase("leaky_relu_0.2", lambda a: F.leaky_relu(a, 0.2), lambda a: TF.leaky_relu(a, 0.2)),
    OpCase("leaky_relu_2", lambda a: F.leaky_relu(a, 2.0), lambda a: TF.leaky_relu(a, 2.0)),
    OpCase("leaky_relu_neg", lambda a: F.leaky_relu(a, -0.5), lambda a: TF.leaky_relu(a, -0.5)),
    OpCase("leaky_relu_inplace", *_inplace(F.leaky_relu, TF.leaky_relu, negative_slope=0.1)),
    OpCase("elu", F.elu, TF.elu, domain=(-4.0, 2.0)),
    OpCase("elu_alpha", lambda a: F.elu(a, 0.5), lambda a: TF.elu(a, 0.5), domain=(-4.0, 2.0)),
    OpCase("elu_inplace", *_inplace(F.elu, TF.elu, alpha=1.5)),
    OpCase("gelu", F.gelu, TF.gelu, domain=(-4.0, 4.0)),
    OpCase(
        "gelu_tanh",
        lambda a: F.gelu(a, approximate="tanh"),
        lambda a: TF.gelu(a, approximate="tanh"),
        domain=(-4.0, 4.0),
    ),
    OpCase("silu", F.silu, TF.silu, domain=(-6.0, 6.0)),
    OpCase("silu_inplace", *_inplace(F.silu, TF.silu)),
    OpCase("softplus", F.softplus, TF.softplus, domain=(-5.0, 5.0)),
    OpCase(
        "softplus_beta_threshold",
        lambda a: F.softplus(a, beta=2.0, threshold=3.0),
        lambda a: TF.softplus(a, beta=2.0, threshold=3.0),
        domain=(-3.0, 3.0),
    ),
    OpCase("hardtanh", F.hardtanh, TF.hardtanh, dtypes=WITH_INTS),
    OpCase(
        "hardtanh_range",
        lambda a: F.hardtanh(a, -0.5, 1.5),
        lambda a: TF.hardtanh(a, -0.5, 1.5),
    ),
    OpCase("hardtanh_inplace", *_inplace(F.hardtanh, TF.hardtanh)),
    OpCase("hardsigmoid", F.hardsigmoid, TF.hardsigmoid, domain=(-4.0, 4.0)),
    OpCase("hardsigmoid_inplace", *_inplace(F.hardsigmoid, TF.hardsigmoid)),
    OpCase("hardswish", F.hardswish, TF.hardswish, domain=(-4.0, 4.0)),
    OpCase("hardswish_inplace", *_inplace(F.hardswish, TF.hardswish)),
    OpCase("sigmoid", F.sigmoid, TF.sigmoid, domain=(-6.0, 6.0)),
    OpCase("tanh", F.tanh, TF.tanh),
    OpCase("relu_method", lambda a: a.relu(), lambda a: a.relu(), dtypes=WITH_INTS),
    OpCase("relu_top_level", ember.relu, torch.relu),
]


@pytest.mark.parametrize("case, dtype", params(CASES))
def test_activation(case, dtype):
    run_case(case, dtype)


# Points where the derivative is not defined, and PyTorch's choice there.
KINKS = {
    "relu": (F.relu, TF.relu, [0.0, -1.0, 2.0, np.nan]),
    "relu6": (F.relu6, TF.relu6, [0.0, 6.0, 3.0, 7.0, -1.0]),
    "leaky_relu": (
        lambda x: F.leaky_relu(x, 0.1),
        lambda x: TF.leaky_relu(x, 0.1),
        [0.0, -1.0, 2.0],
    ),
    "elu": (lambda x: F.elu(x, 0.5), lambda x: TF.elu(x, 0.5), [0.0, -1.0, 2.0, -30.0]),
    "hardtanh": (F.hardtanh, TF.hardtanh, [-1.0, 1.0, 0.5, 2.0, -2.0, np.nan]),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid, [-3.0, 3.0, 0.0, 4.0, -4.0]),
    "hardswish": (F.hardswish, TF.hardswish, [-3.0, 3.0, 0.0, 4.0, -4.0]),
    "softplus_threshold": (
        lambda x: F.softplus(x, beta=2, threshold=3),
        lambda x: TF.softplus(x, beta=2, threshold=3),
        [1.5, 1.4, 2.0, -50.0],
    ),
}


@pytest.mark.parametrize("name", list(KINKS))
def test_kink_conventions_match_torch(name):
    efn, tfn, values = KINKS[name]
    x = ember.tensor(values, dtype=ember.float64, requires_grad=True)
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    y, ty = efn(x), tfn(t)
    assert_close(y, ty, 1e-12, 1e-12)
    w = np.arange(1.0, 1.0 + len(values))
    (y * ember.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    assert_close(x.grad, t.grad, 1e-12, 1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_inputs_stay_finite(dtype):
    x = np.array([-1000.0, -100.0, -20.0, 0.0, 20.0, 100.0, 1000.0], dtype)
    for name in ("gelu", "silu", "softplus", "elu", "sigmoid"):
        assert_close(getattr(F, name)(ember.tensor(x)), getattr(TF, name)(torch.tensor(x)))


def test_gelu_second_derivative_matches_torch():
    values = [-2.0, -0.5, 0.0, 0.7, 3.0]
    for approximate in ("none", "tanh"):
        x = ember.tensor(values, dtype=ember.float64, requires_grad=True)
        t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        (g,) = ember.autograd.grad(F.gelu(x, approximate=approximate).sum(), x, create_graph=True)
        (tg,) = torch.autograd.grad(TF.gelu(t, approximate=approximate).sum(), t, create_graph=True)
        assert_close(ember.autograd.grad(g.sum(), x)[0], torch.autograd.grad(tg.sum(), t)[0])


@pytest.mark.parametrize(
    "lib, name, args, kwargs",
    [
        ("F", "relu", (), {"inplace": True}),
        ("F", "relu_", (), {}),
        ("F", "relu6", (), {"inplace": True}),
        ("F", "leaky_relu", (0.3,), {"inplace": True}),
        ("F", "leaky_relu_", (0.3,), {}),
        ("F", "elu", (), {"inplace": True}),
        ("F", "elu_", (2.0,), {}),
        ("F", "silu", (), {"inplace": True}),
        ("F", "hardtanh", (-0.5, 0.5), {"inplace": True}),
        ("F", "hardtanh_", (-0.5, 0.5), {}),
        ("F", "hardsigmoid", (), {"inplace": True}),
        ("F", "hardswish", (), {"inplace": True}),
        ("top", "relu_", (), {}),
        ("top", "sigmoid_", (), {}),
        ("top", "tanh_", (), {}),
    ],
)
def test_inplace_returns_input_modified(lib, name, args, kwargs):
    values = [-2.0, -0.25, 0.0, 0.75, 4.0]
    efn = getattr(F if lib == "F" else ember, name)
    tfn = getattr(TF if lib == "F" else torch, name)
    x = ember.tensor(values)
    view = x[2:]
    assert efn(x, *args, **kwargs) is x
    assert x._version == 1
    expected = tfn(torch.tensor(values), *args, **kwargs)
    assert_close(x, expected)
    assert_close(view, expected[2:])


def test_errors():
    x = ember.tensor([1.0, -1.0])
    with pytest.raises(
        EmberValueError,
        match="gelu: approximate argument must be either 'none' or 'tanh', got 'foo'",
    ):
        F.gelu(x, approximate="foo")
    with pytest.raises(
        EmberValueError,
        match=r"hardtanh: min_val cannot be greater than max_val, got "
        r"min_val=2\.0, max_val=1\.0",
    ):
        F.hardtanh(x, 2.0, 1.0)
    for fn, name in [
        (F.leaky_relu, "leaky_relu"),
        (F.elu, "elu"),
        (F.gelu, "gelu"),
        (F.silu, "silu"),
        (F.softplus, "softplus"),
        (F.hardsigmoid, "hardsigmoid"),
        (F.hardswish, "hardswish"),
    ]:
        with pytest.raises(ember.DTypeError, match=rf"{name}: dtype int64 is not supported"):
            fn(ember.tensor([1, 2]))
    for fn, name in [(F.relu, "relu"), (F.hardtanh, "hardtanh"), (F.relu6, "hardtanh")]:
        with pytest.raises(ember.DTypeError, match=rf"{name}: dtype bool is not supported"):
            fn(ember.tensor([True, False]))
    leaf = ember.ones(2, requires_grad=True)
    with pytest.raises(ember.AutogradError, match="elu_: a leaf tensor that requires grad"):
        F.elu(leaf, inplace=True)
