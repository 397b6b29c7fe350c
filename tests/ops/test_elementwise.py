"""Elementwise math against PyTorch: integer division and remainders, powers, abs/sign,
maximum/minimum, clamp, where, the exp/log/trig family and rounding, on every shape and the
dtypes PyTorch supports; gradient conventions at kinks and ties; promotion; in-place forms;
errors."""

import warnings

import numpy as np
import pytest
import torch

import ember
from ember.testing.compare import assert_close
from ember.testing.optest import BINARY_SHAPES, OpCase, params, run_case

FLOATS = ("float16", "float32", "float64")
INTS = ("int32", "int64")
NUMERIC = FLOATS + INTS
ALL = NUMERIC + ("bool",)
TERNARY_SHAPES = [
    ((), (), ()),
    ((5,), (5,), (5,)),
    ((3, 4), (3, 1), (1, 4)),
    ((2, 3, 4), (4,), ()),
    ((0, 3), (1, 3), (3,)),
]


def _arrays(values, dtype):
    """0-dim draws come back from the Generator as NumPy scalars: make them arrays."""
    return [np.asarray(v).astype(dtype) for v in values]


def _away_from_integers(rng, shape):
    """k + f with f in [0.1, 0.4] or [0.6, 0.9]: clear of the jumps of floor/round/trunc."""
    return (
        rng.integers(-3, 3, shape) + rng.uniform(0.1, 0.4, shape) + 0.5 * rng.integers(0, 2, shape)
    )


def rounding_inputs(rng, dtype, shapes):
    if np.dtype(dtype).kind == "i":
        return _arrays([rng.integers(-9, 9, s) for s in shapes], dtype)
    return _arrays([_away_from_integers(rng, s) for s in shapes], dtype)


def division_inputs(rng, dtype, shapes):
    """Non-zero divisors; for floats, divisors in {+-0.5, +-1, +-2} (exact) and dividends clear
    of multiples of 0.5, so every quotient is clear of the integers where floor jumps."""
    sx, sy = shapes
    if np.dtype(dtype).kind == "i":
        y = rng.integers(1, 5, sy) * rng.choice([-1, 1], sy)
        return _arrays([rng.integers(-10, 11, sx), y], dtype)
    y = rng.choice([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0], sy)
    return _arrays([_away_from_integers(rng, sx), y], dtype)


def pow_inputs(rng, dtype, shapes):
    sx, sy = shapes
    if np.dtype(dtype).kind == "i":
        return _arrays([rng.integers(-3, 4, sx), rng.integers(0, 4, sy)], dtype)
    return _arrays([rng.uniform(0.5, 2.0, sx), rng.uniform(-2.0, 2.0, sy)], dtype)


def int_negative_pow_inputs(rng, dtype, shapes):
    sx, sy = shapes
    return _arrays([rng.integers(-2, 3, sx), rng.integers(-3, 4, sy)], dtype)


def clamp_inputs(rng, dtype, shapes):
    """x, lo, hi with lo < hi mostly, sometimes lo > hi (then the result is hi)."""
    if np.dtype(dtype).kind == "i":
        return _arrays([rng.integers(-6, 7, s) for s in shapes], dtype)
    x, lo, hi = (rng.uniform(-2, 2, s) for s in shapes)
    return _arrays([x, lo - 0.5, hi + 0.5], dtype)


def where_inputs(rng, dtype, shapes):
    sc, sx, sy = shapes
    cond = np.asarray(rng.random(sc) > 0.5)
    if np.dtype(dtype).kind == "b":
        return [cond] + _arrays([rng.random(sx) > 0.5, rng.random(sy) > 0.5], dtype)
    if np.dtype(dtype).kind == "i":
        return [cond] + _arrays([rng.integers(-5, 5, sx), rng.integers(-5, 5, sy)], dtype)
    return [cond] + _arrays([rng.uniform(-2, 2, sx), rng.uniform(-2, 2, sy)], dtype)


def floor_div_ref(a, b):
    # torch.floor_divide has no derivative; div(rounding_mode='floor') is the same function
    # with the zero gradient PyTorch defines
    return torch.div(a, b, rounding_mode="floor")


CASES = [
    # division and powers
    OpCase(
        "floor_divide",
        ember.floor_divide,
        floor_div_ref,
        shapes=BINARY_SHAPES,
        dtypes=NUMERIC,
        make=division_inputs,
    ),
    OpCase(
        "div_trunc",
        lambda a, b: ember.div(a, b, rounding_mode="trunc"),
        lambda a, b: torch.div(a, b, rounding_mode="trunc"),
        shapes=BINARY_SHAPES,
        dtypes=NUMERIC,
        make=division_inputs,
    ),
    OpCase(
        "div_floor",
        lambda a, b: ember.div(a, b, rounding_mode="floor"),
        lambda a, b: torch.div(a, b, rounding_mode="floor"),
        shapes=BINARY_SHAPES,
        dtypes=NUMERIC,
        make=division_inputs,
    ),
    OpCase(
        "remainder",
        ember.remainder,
        torch.remainder,
        shapes=BINARY_SHAPES,
        dtypes=NUMERIC,
        make=division_inputs,
    ),
    OpCase(
        "fmod", ember.fmod, torch.fmod, shapes=BINARY_SHAPES, dtypes=NUMERIC, make=division_inputs
    ),
    OpCase("pow", ember.pow, torch.pow, shapes=BINARY_SHAPES, dtypes=NUMERIC, make=pow_inputs),
    OpCase(
        "pow_int_negative_exponent",
        ember.pow,
        torch.pow,
        shapes=BINARY_SHAPES,
        dtypes=INTS,
        make=int_negative_pow_inputs,
    ),
    OpCase("pow_scalar_2", lambda a: a**2, lambda a: a**2, dtypes=NUMERIC),
    OpCase("pow_scalar_3", lambda a: a**3, lambda a: a**3, dtypes=NUMERIC),
    OpCase("pow_scalar_0", lambda a: a**0, lambda a: a**0, dtypes=NUMERIC),
    OpCase("pow_scalar_1", lambda a: ember.pow(a, 1), lambda a: torch.pow(a, 1), dtypes=NUMERIC),
    OpCase("pow_scalar_frac", lambda a: a**2.5, lambda a: a**2.5, domain=(0.5, 2.0)),
    OpCase("pow_scalar_neg", lambda a: a**-1.5, lambda a: a**-1.5, domain=(0.5, 2.0)),
    OpCase("pow_int_by_float", lambda a: a**0.5, lambda a: a**0.5, dtypes=INTS, domain=(1, 5)),
    OpCase("rpow", lambda a: 2.0**a, lambda a: 2.0**a, dtypes=NUMERIC),
    OpCase("rpow_int", lambda a: 3**a, lambda a: 3**a, dtypes=NUMERIC, domain=(0, 3)),
    OpCase("square", ember.square, torch.square, dtypes=ALL),
    # sign and extrema
    OpCase("abs", ember.abs, torch.abs, dtypes=NUMERIC),
    OpCase("sign", ember.sign, torch.sign, dtypes=ALL),
    OpCase("maximum", ember.maximum, torch.maximum, shapes=BINARY_SHAPES, dtypes=ALL),
    OpCase("minimum", ember.minimum, torch.minimum, shapes=BINARY_SHAPES, dtypes=ALL),
    OpCase("clamp_scalars", lambda a: ember.clamp(a, -1, 0.5), lambda a: torch.clamp(a, -1, 0.5)),
    OpCase(
        "clamp_int",
        lambda a: ember.clamp(a, -1, 2),
        lambda a: torch.clamp(a, -1, 2),
        dtypes=NUMERIC,
    ),
    OpCase("clamp_min", lambda a: ember.clamp(a, min=0.2), lambda a: torch.clamp(a, min=0.2)),
    OpCase("clamp_max", lambda a: a.clamp(max=-0.2), lambda a: a.clamp(max=-0.2)),
    OpCase("clamp_min_fn", lambda a: ember.clamp_min(a, 0), lambda a: torch.clamp_min(a, 0)),
    OpCase("clamp_max_fn", lambda a: ember.clamp_max(a, 0), lambda a: torch.clamp_max(a, 0)),
    OpCase("clip", lambda a: ember.clip(a, -0.5, 0.5), lambda a: torch.clip(a, -0.5, 0.5)),
    OpCase(
        "clamp_swapped_bounds", lambda a: ember.clamp(a, 1, -1), lambda a: torch.clamp(a, 1, -1)
    ),
    OpCase(
        "clamp_tensors",
        ember.clamp,
        torch.clamp,
        shapes=TERNARY_SHAPES,
        dtypes=NUMERIC,
        make=clamp_inputs,
    ),
    OpCase(
        "clamp_tensor_min",
        lambda a, lo: ember.clamp(a, min=lo),
        lambda a, lo: torch.clamp(a, min=lo),
        shapes=BINARY_SHAPES,
    ),
    OpCase(
        "clamp_tensor_max",
        lambda a, hi: ember.clamp(a, max=hi),
        lambda a, hi: torch.clamp(a, max=hi),
        shapes=BINARY_SHAPES,
    ),
    OpCase("where", ember.where, torch.where, shapes=TERNARY_SHAPES, dtypes=ALL, make=where_inputs),
    OpCase(
        "where_scalar_other",
        lambda c, a, b: ember.where(c, a, 0.5),
        lambda c, a, b: torch.where(c, a, 0.5),
        shapes=TERNARY_SHAPES,
        dtypes=NUMERIC,
        make=where_inputs,
    ),
    OpCase(
        "where_scalar_input",
        lambda c, a, b: ember.where(c, 2, b),
        lambda c, a, b: torch.where(c, 2, b),
        shapes=TERNARY_SHAPES,
        dtypes=NUMERIC,
        make=where_inputs,
    ),
    OpCase(
        "where_method",
        lambda c, a, b: a.where(c, b),
        lambda c, a, b: a.where(c, b),
        shapes=TERNARY_SHAPES,
        make=where_inputs,
    ),
    # floating-point math (integers become float32)
    OpCase("log", ember.log, torch.log, dtypes=NUMERIC, domain=(0.1, 3.0)),
    OpCase("log1p", ember.log1p, torch.log1p, dtypes=NUMERIC, domain=(-0.5, 2.0)),
    OpCase("log2", ember.log2, torch.log2, dtypes=NUMERIC, domain=(0.1, 3.0)),
    OpCase("expm1", ember.expm1, torch.expm1, dtypes=NUMERIC),
    OpCase("sqrt", ember.sqrt, torch.sqrt, dtypes=NUMERIC, domain=(0.1, 3.0)),
    OpCase("rsqrt", ember.rsqrt, torch.rsqrt, dtypes=NUMERIC, domain=(0.1, 3.0)),
    OpCase("reciprocal", ember.reciprocal, torch.reciprocal, dtypes=NUMERIC, domain=(0.5, 2.0)),
    OpCase("sin", ember.sin, torch.sin, dtypes=NUMERIC),
    OpCase("cos", ember.cos, torch.cos, dtypes=NUMERIC),
    OpCase("tanh", ember.tanh, torch.tanh, dtypes=ALL),
    OpCase("sigmoid", ember.sigmoid, torch.sigmoid, dtypes=ALL, domain=(-6.0, 6.0)),
    OpCase("erf", ember.erf, torch.erf, dtypes=ALL, domain=(-3.0, 3.0)),
    OpCase("relu", ember.relu, torch.relu, dtypes=NUMERIC),
    # rounding: zero gradients, inputs clear of the jumps
    OpCase("floor", ember.floor, torch.floor, dtypes=NUMERIC, make=rounding_inputs),
    OpCase("ceil", ember.ceil, torch.ceil, dtypes=NUMERIC, make=rounding_inputs),
    OpCase("trunc", ember.trunc, torch.trunc, dtypes=NUMERIC, make=rounding_inputs),
    OpCase("round", ember.round, torch.round, dtypes=NUMERIC, make=rounding_inputs),
    OpCase(
        "round_decimals",
        lambda a: ember.round(a, decimals=2),
        lambda a: torch.round(a, decimals=2),
        grad=False,
    ),
]


@pytest.mark.parametrize("case, dtype", params(CASES))
def test_op(case, dtype):
    run_case(case, dtype)


# ---- special values ----------------------------------------------------------------------------

SPECIAL = [-np.inf, -3.5, -2.0, -0.0, 0.0, 0.5, 2.0, 3.5, np.inf, np.nan]


@pytest.mark.parametrize("name", ["floor_divide", "remainder", "fmod", "maximum", "minimum"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_special_values(name, dtype):
    a = np.array(SPECIAL, dtype)[:, None].repeat(len(SPECIAL), 1)
    b = a.T.copy()
    got = getattr(ember, name)(ember.tensor(a), ember.tensor(b))
    assert_close(got, getattr(torch, name)(torch.tensor(a), torch.tensor(b)), 0, 0)


@pytest.mark.parametrize(
    "name", ["sign", "abs", "sqrt", "rsqrt", "log", "sigmoid", "tanh", "erf", "relu", "floor"]
)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_unary_special_values(name, dtype):
    x = np.array(SPECIAL + [1e-30, -1e-30, 100.0, -100.0, 1000.0, -1000.0], dtype)
    expected = getattr(torch, name)(torch.tensor(x))
    assert_close(getattr(ember, name)(ember.tensor(x)), expected, 1e-6, 1e-30)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_erf_accuracy_over_its_range(dtype):
    x = np.concatenate([np.linspace(-7, 7, 70001), np.geomspace(1e-12, 7, 5000)]).astype(dtype)
    got = ember.erf(ember.tensor(x)).numpy().astype(np.float64)
    exp = torch.erf(torch.tensor(x, dtype=torch.float64)).numpy()
    ulp = np.spacing(np.abs(exp).astype(dtype)).astype(np.float64)
    assert np.max(np.abs(got - exp) / ulp) <= 4


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_sigmoid_keeps_tiny_values_and_does_not_warn(dtype):
    x = np.array([-80.0, -30.0, -1000.0, 1000.0], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = ember.sigmoid(ember.tensor(x))
    assert_close(got, torch.sigmoid(torch.tensor(x)), 1e-6, 1e-37)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "int64", "bool"])
@pytest.mark.parametrize(
    "shapes", [((3000,), (3000,), (3000,)), ((40, 1), (1, 100), (100,)), ((), (3000,), ())]
)
def test_where_on_large_inputs_is_exact(dtype, shapes):
    """Large selects take a branch-free path: it must give exactly np.where's bits."""
    rng = np.random.default_rng(0)
    cond = np.asarray(rng.random(shapes[0]) > 0.5)
    a, b = (np.asarray(rng.standard_normal(s) * 50).astype(dtype) for s in shapes[1:])
    if dtype.startswith("float") and a.size > 3:
        a.reshape(-1)[:4] = [np.nan, np.inf, -np.inf, -0.0]
    for other in (b, 0, 3):
        got = ember.where(
            ember.tensor(cond), ember.tensor(a), other if other is not b else ember.tensor(b)
        )
        expected = torch.where(
            torch.tensor(cond), torch.tensor(a), other if other is not b else torch.tensor(b)
        )
        assert_close(got, expected, 0, 0)
        assert np.signbit(got.numpy()).tolist() == np.signbit(expected.numpy()).tolist()


def test_gradients_through_large_selects():
    x = np.random.default_rng(1).standard_normal(5000)
    for efn, tfn in [
        (lambda v: ember.relu(v), torch.relu),
        (lambda v: v.clamp(-0.5, 0.5), lambda v: v.clamp(-0.5, 0.5)),
        (lambda v: ember.maximum(v, v.round()), lambda v: torch.maximum(v, v.round())),
        (lambda v: ember.where(v > 0, v * 2, v), lambda v: torch.where(v > 0, v * 2, v)),
    ]:
        e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        (efn(e) * ember.tensor(x)).sum().backward()
        (tfn(t) * torch.tensor(x)).sum().backward()
        assert_close(e.grad, t.grad, 0, 0)
