"""Elementwise math semantics against PyTorch beyond the op table: gradient conventions at
kinks, ties and singular points; dtype promotion with scalars and 0-dim tensors; in-place
methods and operators; and every error path."""

import operator

import numpy as np
import pytest
import torch

import ember
from ember.errors import EmberValueError
from ember.testing.compare import assert_close

# ---- gradient conventions at kinks, ties and singular points -----------------------------------


def grads_match(efn, tfn, *values):
    """Values and gradients (for a non-uniform upstream gradient) of ember vs PyTorch, float64."""
    xs = [ember.tensor(v, dtype=ember.float64, requires_grad=True) for v in values]
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    eo, to = efn(*xs), tfn(*ts)
    assert_close(eo, to, 1e-12, 1e-12)
    w = np.arange(1.0, 1.0 + to.numel()).reshape(tuple(to.shape))
    (eo * ember.tensor(w)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    for x, t in zip(xs, ts):
        expected = t.grad if t.grad is not None else torch.zeros_like(t)
        assert_close(x.grad, expected, 1e-12, 1e-12)


NAN = float("nan")
KINKS = {
    "abs_at_0": (ember.abs, torch.abs, [0.0, -1.0, 2.0]),
    "sign_zero_grad": (ember.sign, torch.sign, [0.0, -1.0, 2.0]),
    "round_zero_grad": (ember.round, torch.round, [0.5, -1.2, 2.7]),
    "clamp_at_bounds": (lambda x: x.clamp(-1, 1), lambda x: x.clamp(-1, 1), [-1.0, 1.0, 0.5, 2.0]),
    "clamp_swapped": (lambda x: x.clamp(1, -1), lambda x: x.clamp(1, -1), [-1.0, 1.0, 0.5]),
    "clamp_tensor_bounds": (
        ember.clamp,
        torch.clamp,
        [-1.0, 1.0, 0.5, 2.0, 0.0, 0.5],
        [-1.0, -1.0, -1.0, -1.0, 1.0, 1.0],
        [1.0, 1.0, 1.0, 1.0, -1.0, -1.0],
    ),
    "clamp_tensor_min_ties": (
        lambda x, lo: ember.clamp(x, min=lo),
        lambda x, lo: torch.clamp(x, min=lo),
        [-1.0, 1.0, 0.5],
        [-1.0, 0.0, 1.0],
    ),
    "clamp_tensor_max_ties": (
        lambda x, hi: ember.clamp(x, max=hi),
        lambda x, hi: torch.clamp(x, max=hi),
        [-1.0, 1.0, 0.5],
        [-1.0, 0.0, 1.0],
    ),
    "maximum_ties_nan": (
        ember.maximum,
        torch.maximum,
        [1.0, 2.0, 3.0, NAN, 1.0],
        [1.0, 1.0, 4.0, 1.0, NAN],
    ),
    "minimum_ties_nan": (
        ember.minimum,
        torch.minimum,
        [1.0, 2.0, 3.0, NAN, 1.0],
        [1.0, 1.0, 4.0, 1.0, NAN],
    ),
    "pow_zero_base": (
        ember.pow,
        torch.pow,
        [0.0, 0.0, 0.0, 2.0, -2.0],
        [0.0, 2.0, -1.0, 3.0, 2.0],
    ),
    "pow_scalar_exponents_at_0": (
        lambda x: x**2 + x**0 + x**1 + x**3,
        lambda x: x**2 + x**0 + x**1 + x**3,
        [0.0, -1.0, 2.0],
    ),
    "pow_half_at_0": (lambda x: x**0.5, lambda x: x**0.5, [0.0, 4.0]),
    "rpow_zero_base": (lambda y: 0.0**y, lambda y: 0.0**y, [0.0, 2.0, -1.0]),
    "rpow_negative_base": (lambda y: (-2.0) ** y, lambda y: (-2.0) ** y, [0.0, 2.0, 0.5]),
    "rpow_positive_base": (lambda y: 2**y, lambda y: 2**y, [0.0, 2.0, -1.5]),
    "sqrt_at_0": (ember.sqrt, torch.sqrt, [0.0, 1.0]),
    "rsqrt_at_0": (ember.rsqrt, torch.rsqrt, [0.0, 1.0]),
    "log_at_0": (ember.log, torch.log, [0.0, 1.0]),
    "reciprocal_at_0": (ember.reciprocal, torch.reciprocal, [0.0, 1.0]),
    "remainder_other": (ember.remainder, torch.remainder, [5.0, -5.0, 4.0], [3.0, 3.0, -3.0]),
    "fmod_other": (ember.fmod, torch.fmod, [5.0, -5.0, 4.0], [3.0, 3.0, -3.0]),
    "relu_at_0_and_nan": (ember.relu, torch.relu, [0.0, -1.0, 2.0, NAN]),
}


@pytest.mark.parametrize("name", list(KINKS))
def test_gradient_conventions_match_torch(name):
    efn, tfn, *values = KINKS[name]
    grads_match(efn, tfn, *values)


def test_second_derivative_of_pow_through_both_inputs():
    x = ember.tensor([1.5, 0.7], dtype=ember.float64, requires_grad=True)
    y = ember.tensor([2.5, -1.0], dtype=ember.float64, requires_grad=True)
    tx = torch.tensor([1.5, 0.7], dtype=torch.float64, requires_grad=True)
    ty = torch.tensor([2.5, -1.0], dtype=torch.float64, requires_grad=True)
    gx, gy = ember.autograd.grad((x**y).sum(), [x, y], create_graph=True)
    tgx, tgy = torch.autograd.grad((tx**ty).sum(), [tx, ty], create_graph=True)
    assert_close(
        ember.autograd.grad((gx * gy).sum(), [x, y])[0],
        torch.autograd.grad((tgx * tgy).sum(), [tx, ty])[0],
        1e-12,
        1e-12,
    )


# ---- promotion with scalars, 0-dim tensors and mixed dtypes ------------------------------------


def _t(lib, values, dtype):
    return lib.tensor(values, dtype=getattr(lib, dtype))


PROMOTIONS = {
    "int_floordiv_float": lambda L: _t(L, [7, -7], "int32") // 2.5,
    "int_mod_int": lambda L: _t(L, [7, -7], "int32") % 3,
    "int_pow_int": lambda L: _t(L, [2, -3], "int32") ** 2,
    "int_pow_float": lambda L: _t(L, [2, 3], "int32") ** 2.0,
    "float_rpow_int": lambda L: 2.0 ** _t(L, [2, -3], "int32"),
    "int_rpow_int": lambda L: 2 ** _t(L, [2, 3], "int64"),
    "bool_pow_int": lambda L: _t(L, [True, False], "bool") ** 2,
    "half_pow_float": lambda L: _t(L, [1.5, 2.0], "float16") ** 2.0,
    "float_pow_double_0dim": lambda L: _t(L, [1.5, 2.0], "float32") ** _t(L, 2.0, "float64"),
    "int_pow_long_0dim": lambda L: _t(L, [2, 3], "int32") ** _t(L, 2, "int64"),
    "float_pow_int_tensor": lambda L: _t(L, [1.5, 2.0], "float32") ** _t(L, [1, 2], "int64"),
    "maximum_int_float": lambda L: L.maximum(_t(L, [1, 5], "int32"), _t(L, [2.5, 2.5], "float32")),
    "minimum_bool_int": lambda L: L.minimum(_t(L, [True, False], "bool"), _t(L, [3, -1], "int32")),
    "clamp_int_float": lambda L: L.clamp(_t(L, [1, 5], "int32"), 0.5),
    "clamp_bool_int": lambda L: L.clamp(_t(L, [True, False], "bool"), 0, 1),
    "clamp_float_double_0dim": lambda L: L.clamp(
        _t(L, [1.5, -2.0], "float32"), _t(L, 0, "float64")
    ),
    "clamp_half_float": lambda L: L.clamp(_t(L, [1.5, -2.0], "float16"), _t(L, [0.0], "float32")),
    "where_float_scalars": lambda L: L.where(_t(L, [True, False], "bool"), 1.0, 0.0),
    "where_int_scalars": lambda L: L.where(_t(L, [True, False], "bool"), 1, 0),
    "where_bool_int_scalars": lambda L: L.where(_t(L, [True, False], "bool"), True, 2),
    "where_int_float_scalar": lambda L: L.where(
        _t(L, [True, False], "bool"), _t(L, [3, 4], "int32"), 2.5
    ),
    "where_int_double_0dim": lambda L: L.where(
        _t(L, [True, False], "bool"), _t(L, [3, 4], "int32"), _t(L, 2.0, "float64")
    ),
    "where_float_double_0dim": lambda L: L.where(
        _t(L, [True, False], "bool"), _t(L, [3, 4], "float32"), _t(L, 2.0, "float64")
    ),
    "where_0dim_cond": lambda L: L.where(
        _t(L, True, "bool"), _t(L, [1.5, 2.5], "float32"), _t(L, [1, 2], "int32")
    ),
    "sqrt_int": lambda L: L.sqrt(_t(L, [4, 9], "int64")),
    "sqrt_bool": lambda L: L.sqrt(_t(L, [True, False], "bool")),
    "sigmoid_int": lambda L: L.sigmoid(_t(L, [0, 1], "int32")),
    "abs_int": lambda L: L.abs(_t(L, [-3, 2], "int32")),
    "sign_bool": lambda L: L.sign(_t(L, [True, False], "bool")),
    "floor_int": lambda L: L.floor(_t(L, [-3, 2], "int32")),
    "square_bool": lambda L: L.square(_t(L, [True, False], "bool")),
    "relu_int": lambda L: L.relu(_t(L, [-3, 2], "int32")),
    "remainder_scalar_first": lambda L: L.remainder(2, _t(L, [3, -4], "int32")),
    "remainder_float_scalar_first": lambda L: L.remainder(2.5, _t(L, [3, -4], "int32")),
}


@pytest.mark.parametrize("name", list(PROMOTIONS))
def test_promotion_matches_torch(name):
    got, expected = PROMOTIONS[name](ember), PROMOTIONS[name](torch)
    assert got.dtype.name == str(expected.dtype).removeprefix("torch.")
    assert_close(got, expected, 1e-6, 1e-6)


def test_int_math_follows_the_default_dtype():
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.sqrt(ember.tensor([4, 9])).dtype == ember.float64
        assert (ember.tensor([1, 2]) ** 0.5).dtype == ember.float64
    finally:
        ember.set_default_dtype(ember.float32)


# ---- in-place forms ----------------------------------------------------------------------------

INPLACE = {
    "relu_": lambda x: x.relu_(),
    "clamp_": lambda x: x.clamp_(-1, 0.5),
    "clamp_min_kw": lambda x: x.clamp_(min=0.2),
    "clip_": lambda x: x.clip_(-0.5, 0.5),
    "clamp_min_": lambda x: x.clamp_min_(0.0),
    "clamp_max_": lambda x: x.clamp_max_(0.0),
    "pow_": lambda x: x.pow_(2),
    "abs_": lambda x: x.abs_(),
    "sign_": lambda x: x.sign_(),
    "sigmoid_": lambda x: x.sigmoid_(),
    "tanh_": lambda x: x.tanh_(),
    "exp_sqrt_": lambda x: x.abs_().sqrt_(),
    "floor_": lambda x: x.floor_(),
    "round_": lambda x: x.round_(decimals=1),
    "square_": lambda x: x.square_(),
    "floor_divide_": lambda x: x.floor_divide_(0.5),
    "remainder_": lambda x: x.remainder_(0.75),
    "fmod_": lambda x: x.fmod_(0.75),
    "erf_": lambda x: x.erf_(),
}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_methods_write_into_the_tensor(name):
    values = np.array([-1.7, -0.3, 0.0, 0.4, 2.2], np.float32)
    x = ember.tensor(values)
    view = x[1:]
    version = x._version
    out = INPLACE[name](x)
    expected = INPLACE[name](torch.tensor(values))
    assert out is x
    assert x._version > version
    assert_close(x, expected, 1e-6, 1e-6)
    assert_close(view, expected[1:], 1e-6, 1e-6)


@pytest.mark.parametrize("op", [operator.ifloordiv, operator.imod, operator.ipow])
@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_inplace_operators(op, dtype):
    x, tx = _t(ember, [7, -7, 3], dtype), _t(torch, [7, -7, 3], dtype)
    assert op(x, 2) is x
    assert x._version == 1
    assert_close(x, op(tx, 2), 0, 0)


def test_inplace_activation_under_autograd_matches_torch():
    def run(lib):
        x = lib.tensor([-1.0, 0.5, 2.0], requires_grad=True)
        y = x * 2
        y.clamp_(max=3.0).sigmoid_()
        (y * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        return y, x.grad

    (y, g), (ty, tg) = run(ember), run(torch)
    assert_close(y, ty)
    assert_close(g, tg)


def test_inplace_float_result_into_int_tensor_raises():
    with pytest.raises(ember.DTypeError, match="sqrt_: result type float32 can't be cast"):
        ember.tensor([4, 9]).sqrt_()
    with pytest.raises(ember.DTypeError, match="pow_: result type float32 can't be cast"):
        ember.tensor([4, 9]).pow_(0.5)


def test_inplace_on_leaf_requiring_grad_raises():
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(ember.AutogradError, match="relu_: a leaf tensor that requires grad"):
        x.relu_()


# ---- errors ------------------------------------------------------------------------------------

INT3 = [5, -7, 0]


@pytest.mark.parametrize(
    "fn, name",
    [
        (lambda x, z: ember.floor_divide(x, z), "floor_divide"),
        (lambda x, z: x // z, "floor_divide"),
        (lambda x, z: x % z, "remainder"),
        (lambda x, z: ember.fmod(x, z), "fmod"),
        (lambda x, z: ember.div(x, z, rounding_mode="trunc"), "trunc_divide"),
        (lambda x, z: ember.div(x, z, rounding_mode="floor"), "floor_divide"),
    ],
)
def test_integer_division_by_zero_raises(fn, name):
    x, z = ember.tensor(INT3), ember.tensor([1, 0, 2])
    with pytest.raises(
        ZeroDivisionError,
        match=rf"{name}: integer division by zero \(inputs: "
        r"int64\[3\], int64\[3\]\)",
    ):
        fn(x, z)
    with pytest.raises(
        EmberValueError,
        match=rf"{name}: integer division by zero \(inputs: "
        r"int64\[3\], 0\)",
    ):
        fn(x, 0)


def test_integer_division_by_zero_reflected():
    with pytest.raises(ember.EmberError, match=r"floor_divide: .* \(inputs: 5, int64\[3\]\)"):
        5 // ember.tensor(INT3)
    with pytest.raises(ember.EmberError, match=r"remainder: .* \(inputs: 5, int32\[3\]\)"):
        5 % ember.tensor(INT3, dtype=ember.int32)


def test_float_division_by_zero_gives_inf_and_nan():
    x = np.array([1.5, -1.5, 0.0], np.float32)
    for name in ("floor_divide", "remainder", "fmod"):
        got = getattr(ember, name)(ember.tensor(x), 0.0)
        assert_close(got, getattr(torch, name)(torch.tensor(x), 0.0), 0, 0)


def test_integer_tensor_to_negative_integer_power_raises():
    msg = r"pow: integers to negative integer powers are not allowed \(inputs: int32\[3\], -1\)"
    with pytest.raises(EmberValueError, match=msg):
        ember.tensor(INT3, dtype=ember.int32) ** -1
    with pytest.raises(ValueError, match=r"pow: integers to negative .* int64\[3\], -2\)"):
        ember.pow(ember.tensor(INT3), -2)


@pytest.mark.parametrize(
    "fn, name",
    [
        (lambda b: b**b, "pow"),
        (lambda b: abs(b), "abs"),
        (lambda b: b.floor(), "floor"),
        (lambda b: ember.round(b), "round"),
        (lambda b: b // b, "floor_divide"),
        (lambda b: b % b, "remainder"),
        (lambda b: ember.fmod(b, b), "fmod"),
        (lambda b: ember.clamp(b, True, False), "clamp"),
        (lambda b: ember.relu(b), "relu"),
    ],
)
def test_bool_rejected_like_torch(fn, name):
    b = ember.tensor([True, False])
    with pytest.raises(ember.DTypeError, match=rf"{name}: dtype bool is not supported"):
        fn(b)


def test_round_decimals_on_integers_raises():
    with pytest.raises(
        ember.DTypeError,
        match=r"round: decimals=1 is not supported for integer "
        r"inputs \(int64\[2\]\)",
    ):
        ember.round(ember.tensor([1, 2]), decimals=1)


@pytest.mark.parametrize("name", ["maximum", "minimum", "pow", "remainder", "fmod", "floor_divide"])
def test_incompatible_shapes_raise(name):
    with pytest.raises(
        ember.ShapeError, match=rf"{name}: shapes \(2, 3\) and \(4,\) cannot be broadcast"
    ):
        getattr(ember, name)(ember.ones(2, 3), ember.ones(4))


def test_clamp_errors():
    with pytest.raises(EmberValueError, match="clamp: at least one of 'min' or 'max' must not"):
        ember.clamp(ember.ones(3))
    with pytest.raises(ember.ShapeError, match=r"clamp: shapes \(2, 3\) and \(4,\) and \(\)"):
        ember.clamp(ember.ones(2, 3), ember.zeros(4))


def test_where_errors():
    c = ember.tensor([True, False])
    with pytest.raises(
        ember.DTypeError, match="where: expected condition to be a bool tensor, got float32"
    ):
        ember.where(ember.ones(2), ember.ones(2), ember.zeros(2))
    with pytest.raises(
        ember.DTypeError, match="where: expected condition to be a bool tensor, got list"
    ):
        ember.where([True], ember.ones(2), ember.zeros(2))
    with pytest.raises(EmberValueError, match="where: pass both input and other, or neither"):
        ember.where(c, ember.ones(2))
    with pytest.raises(
        ember.DTypeError, match="where: input and other must be tensors or Python numbers, got str"
    ):
        ember.where(c, ember.ones(2), "a")
    with pytest.raises(
        ember.ShapeError,
        match=r"where: shapes \(2,\) and \(3,\) and \(\) cannot "
        "be broadcast",
    ):
        ember.where(c, ember.ones(3), 0.0)


def test_where_condition_only_is_nonzero():
    c = np.array([[True, False], [False, True]])
    got = ember.where(ember.tensor(c))
    expected = torch.where(torch.tensor(c))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert_close(g, e, 0, 0)


def test_pow_needs_a_tensor():
    with pytest.raises(
        ember.DTypeError, match="pow: expected a tensor as input or exponent, got int and float"
    ):
        ember.pow(2, 3.0)


def test_round_decimals_float16_does_not_overflow():
    x = np.array([1000.123, -2.555, 600.5], np.float16)
    expected = torch.round(torch.tensor(x), decimals=2)
    assert_close(ember.round(ember.tensor(x), decimals=2), expected, 0, 0)


@pytest.mark.parametrize("lo, hi", [(NAN, None), (None, NAN), (0.0, NAN), (-1.0, 1.0)])
def test_clamp_nan_propagates_like_torch(lo, hi):
    x = [1.0, NAN, -3.0]
    assert_close(ember.clamp(ember.tensor(x), lo, hi), torch.clamp(torch.tensor(x), lo, hi), 0, 0)
