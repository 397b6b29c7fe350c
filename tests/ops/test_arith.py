"""Arithmetic ops and operators against PyTorch (the pattern every op family follows)."""

import pytest
import torch

import ember
from ember.testing.optest import BINARY_SHAPES, OpCase, params, run_case

NUMERIC = ("float16", "float32", "float64", "int32", "int64")

CASES = [
    OpCase("add", ember.add, torch.add, shapes=BINARY_SHAPES, dtypes=NUMERIC),
    OpCase(
        "add_alpha",
        lambda a, b: ember.add(a, b, alpha=2),
        lambda a, b: torch.add(a, b, alpha=2),
        shapes=BINARY_SHAPES,
    ),
    OpCase("sub", ember.sub, torch.sub, shapes=BINARY_SHAPES, dtypes=NUMERIC),
    OpCase("mul", ember.mul, torch.mul, shapes=BINARY_SHAPES, dtypes=NUMERIC),
    OpCase("div", ember.div, torch.div, shapes=BINARY_SHAPES, domain=(0.5, 2.0)),
    OpCase("neg", ember.neg, torch.neg, dtypes=NUMERIC),
    OpCase("exp", ember.exp, torch.exp),
    OpCase("op_add_scalar", lambda a: a + 2.5, lambda a: a + 2.5),
    OpCase("op_rsub_scalar", lambda a: 3 - a, lambda a: 3 - a),
    OpCase("op_rtruediv", lambda a: 2.0 / a, lambda a: 2.0 / a, domain=(0.5, 2.0)),
    OpCase(
        "op_chain",
        lambda a, b: (a * b - a / b) * 2 + b,
        lambda a, b: (a * b - a / b) * 2 + b,
        shapes=BINARY_SHAPES,
        domain=(0.5, 2.0),
    ),
]


@pytest.mark.parametrize("case, dtype", params(CASES))
def test_op(case, dtype):
    run_case(case, dtype)


@pytest.mark.parametrize(
    "a, b",
    [
        ("int32", 2.5),
        ("int64", True),
        ("bool", 1),
        ("float16", 1.0),
        ("int32", "f64_0d"),
        ("bool", "i32_0d"),
        ("int32", "int64"),
        ("float16", "int64"),
        ("bool", "float32"),
    ],
)
def test_promotion_matches_torch(a, b):
    def make(spec, lib):
        if not isinstance(spec, str):
            return spec
        if spec == "f64_0d":
            return lib.tensor(1.5, dtype=lib.float64)
        if spec == "i32_0d":
            return lib.tensor(2, dtype=lib.int32)
        return lib.ones(3, dtype=getattr(lib, spec))

    got = make(a, ember) + make(b, ember)
    expected = make(a, torch) + make(b, torch)
    assert got.dtype.name == str(expected.dtype).replace("torch.", "")
    assert got.tolist() == expected.tolist()


def test_int_true_division_is_float():
    assert (ember.tensor([1, 2]) / ember.tensor([2, 4])).dtype == ember.float32


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(
        ember.ShapeError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"
    ):
        ember.ones(2, 3) + ember.ones(4)


def test_sub_bool_rejected():
    with pytest.raises(ember.DTypeError, match="sub: dtype bool is not supported"):
        ember.tensor([True]) - ember.tensor([False])


def test_inplace_result_type_checked():
    x = ember.ones(3, dtype=ember.int64)
    with pytest.raises(ember.DTypeError, match=r"add_: result type float32 can't be cast"):
        x.add_(1.5)


def test_inplace_shape_checked():
    x = ember.ones(3)
    with pytest.raises(ember.ShapeError, match=r"add_: output with shape \(3,\) doesn't match"):
        x += ember.ones(2, 3)
