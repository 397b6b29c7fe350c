"""Comparisons, logical and bitwise ops, NaN/inf tests and their operators against PyTorch:
every shape and dtype, scalars on either side, in-place forms, and errors."""

import operator

import numpy as np
import pytest
import torch

import ember
from ember.testing.compare import assert_close
from ember.testing.optest import BINARY_SHAPES, OpCase, params, run_case

FLOATS = ("float16", "float32", "float64")
INTS = ("int32", "int64")
ALL = FLOATS + INTS + ("bool",)
BITS = ("bool",) + INTS


def with_ties(rng, dtype, shapes):
    """Small integers (as any dtype), so that equal elements are common."""
    if np.dtype(dtype).kind == "b":
        return [np.asarray(rng.random(s) > 0.5) for s in shapes]
    return [np.asarray(rng.integers(-2, 3, s)).astype(dtype) for s in shapes]


def specials(rng, dtype, shapes):
    """Floats with NaN and +-inf mixed in."""
    out = []
    for s in shapes:
        if np.dtype(dtype).kind != "f":
            out.append(with_ties(rng, dtype, [s])[0])
            continue
        pool = np.array([np.nan, np.inf, -np.inf, 0.0, 1.5, -2.0])
        out.append(np.asarray(rng.choice(pool, s)).astype(dtype))
    return out


def _binary(name, efn, tfn, dtypes=ALL, make=with_ties):
    return OpCase(name, efn, tfn, shapes=BINARY_SHAPES, dtypes=dtypes, make=make, grad=False)


def _unary(name, efn, tfn, dtypes=ALL, make=with_ties):
    return OpCase(name, efn, tfn, dtypes=dtypes, make=make, grad=False)


CASES = [
    _binary("eq", ember.eq, torch.eq),
    _binary("ne", ember.ne, torch.ne),
    _binary("lt", ember.lt, torch.lt),
    _binary("le", ember.le, torch.le),
    _binary("gt", ember.gt, torch.gt),
    _binary("ge", ember.ge, torch.ge),
    _binary("eq_nan", ember.eq, torch.eq, FLOATS, specials),
    _binary("lt_nan", ember.lt, torch.lt, FLOATS, specials),
    _binary("op_eq", operator.eq, operator.eq),
    _binary("op_ne", operator.ne, operator.ne),
    _binary("op_lt", operator.lt, operator.lt),
    _binary("op_le", operator.le, operator.le),
    _binary("op_gt", operator.gt, operator.gt),
    _binary("op_ge", operator.ge, operator.ge),
    _unary("op_lt_scalar", lambda a: a < 0.5, lambda a: a < 0.5),
    _unary("op_rlt_scalar", lambda a: 0 < a, lambda a: 0 < a),
    _unary("op_req_scalar", lambda a: 1 == a, lambda a: 1 == a),
    _unary("op_ge_bool_scalar", lambda a: a >= True, lambda a: a >= True),
    _binary("greater", ember.greater, torch.greater),
    _binary("less_equal", ember.less_equal, torch.less_equal),
    _binary("not_equal", ember.not_equal, torch.not_equal),
    _binary("logical_and", ember.logical_and, torch.logical_and, make=specials),
    _binary("logical_or", ember.logical_or, torch.logical_or, make=specials),
    _binary("logical_xor", ember.logical_xor, torch.logical_xor, make=specials),
    _unary("logical_not", ember.logical_not, torch.logical_not, make=specials),
    _unary("isnan", ember.isnan, torch.isnan, make=specials),
    _unary("isinf", ember.isinf, torch.isinf, make=specials),
    _unary("isfinite", ember.isfinite, torch.isfinite, make=specials),
    _binary("bitwise_and", ember.bitwise_and, torch.bitwise_and, BITS),
    _binary("bitwise_or", ember.bitwise_or, torch.bitwise_or, BITS),
    _binary("bitwise_xor", ember.bitwise_xor, torch.bitwise_xor, BITS),
    _unary("bitwise_not", ember.bitwise_not, torch.bitwise_not, BITS),
    _binary("op_and", operator.and_, operator.and_, BITS),
    _binary("op_or", operator.or_, operator.or_, BITS),
    _binary("op_xor", operator.xor, operator.xor, BITS),
    _unary("op_invert", operator.invert, operator.invert, BITS),
    _unary("op_and_int", lambda a: a & 3, lambda a: a & 3, BITS),
    _unary("op_rand_int", lambda a: 3 & a, lambda a: 3 & a, BITS),
    _unary("op_ror_bool", lambda a: True | a, lambda a: True | a, BITS),
    _unary("op_rxor_int", lambda a: 6 ^ a, lambda a: 6 ^ a, BITS),
]


@pytest.mark.parametrize("case, dtype", params(CASES))
def test_op(case, dtype):
    run_case(case, dtype)


@pytest.mark.parametrize(
    "a, b",
    [
        (("int32", [1, 2, 3]), 2.5),
        (("int64", [1, 2, 3]), ("float32", [1.0, 2.5, 3.0])),
        (("float16", [1.0, 2.0, 3.0]), ("float64", 2.0)),
        (("bool", [True, False, True]), 1),
        (("int32", [16777217, 2, 3]), ("int64", [16777216, 2, 4])),
    ],
)
@pytest.mark.parametrize("op", [operator.eq, operator.lt, operator.ge])
def test_comparisons_promote_like_torch(op, a, b):
    def make(spec, lib):
        if not isinstance(spec, tuple):
            return spec
        return lib.tensor(spec[1], dtype=getattr(lib, spec[0]))

    got, expected = op(make(a, ember), make(b, ember)), op(make(a, torch), make(b, torch))
    assert got.dtype == ember.bool
    assert got.tolist() == expected.tolist()


def test_equality_with_other_objects_is_python_identity():
    x = ember.tensor([1.0, 2.0])
    assert (x == None) is False  # noqa: E711 - the point of the test
    assert (x != "a") is True
    assert x in [x]
    with pytest.raises(TypeError, match="not supported between instances"):
        _ = x < "a"


def test_comparisons_do_not_require_grad():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    assert not (x > 1).requires_grad
    assert not ember.isnan(x).requires_grad


@pytest.mark.parametrize(
    "name, args",
    [
        ("eq_", ([1.0, 3.0],)),
        ("lt_", (1.5,)),
        ("ge_", ([2.0, 0.0],)),
        ("logical_and_", ([0.0, 3.0],)),
        ("logical_not_", ()),
    ],
)
def test_inplace_comparisons_write_in_the_tensor_dtype(name, args):
    def run(lib):
        x = lib.tensor([1.0, 2.0])
        other = [lib.tensor(a) if isinstance(a, list) else a for a in args]
        assert getattr(x, name)(*other) is x
        return x

    x, tx = run(ember), run(torch)
    assert x._version == 1
    assert_close(x, tx, 0, 0)


@pytest.mark.parametrize("op", [operator.iand, operator.ior, operator.ixor])
@pytest.mark.parametrize("dtype", ["bool", "int64"])
def test_inplace_bitwise_operators(op, dtype):
    a, b = [1, 0, 1, 0], [1, 1, 0, 0]
    x, tx = (
        ember.tensor(a, dtype=getattr(ember, dtype)),
        torch.tensor(a, dtype=getattr(torch, dtype)),
    )
    assert op(x, ember.tensor(b, dtype=x.dtype)) is x
    op(tx, torch.tensor(b, dtype=tx.dtype))
    assert x._version == 1
    assert_close(x, tx, 0, 0)


def test_bitwise_not_inplace():
    x = ember.tensor([0, 5], dtype=ember.int32)
    assert x.bitwise_not_() is x
    assert x.tolist() == [-1, -6]


# ---- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn, name",
    [
        (lambda f: f & f, "bitwise_and"),
        (lambda f: f | 1, "bitwise_or"),
        (lambda f: 1 ^ f, "bitwise_xor"),
        (lambda f: ~f, "bitwise_not"),
        (lambda f: ember.tensor([1, 2]) & 1.5, "bitwise_and"),
    ],
)
def test_bitwise_on_float_raises(fn, name):
    f = ember.tensor([1.0, 2.0])
    with pytest.raises(
        ember.DTypeError,
        match=rf"{name}: dtype float32 is not supported \(expected one of bool, int32, int64\)",
    ):
        fn(f)


def test_inplace_bitwise_into_bool_raises():
    b = ember.tensor([True, False])
    with pytest.raises(ember.DTypeError, match="bitwise_and_: result type int64 can't be cast"):
        b &= ember.tensor([1, 2])


@pytest.mark.parametrize("name", ["eq", "lt", "logical_and", "logical_xor", "bitwise_or"])
def test_incompatible_shapes_raise(name):
    with pytest.raises(
        ember.ShapeError, match=rf"{name}: shapes \(2, 3\) and \(4,\) cannot be broadcast"
    ):
        getattr(ember, name)(ember.ones(2, 3, dtype=ember.int64), ember.ones(4, dtype=ember.int64))
