"""ember.testing: gradcheck / gradgradcheck and assert_close catch what they must."""

import numpy as np
import pytest
import torch

import ember
from ember.testing import GradcheckError, assert_close, gradcheck, gradgradcheck

RNG = np.random.default_rng(4)


def leaf(*shape, dtype=ember.float64):
    return ember.tensor(RNG.standard_normal(shape), dtype=dtype, requires_grad=True)


@pytest.mark.parametrize(
    "fn, shapes",
    [
        (lambda a: (a.exp() * a).sum(), [(3,)]),
        (lambda a, b: a @ b, [(2, 3), (3, 4)]),
        (lambda a, b: (a / (1.0 + b * b), a.exp()), [(2, 3), (3,)]),
        (lambda a: a.permute(1, 0).reshape(6) * 2.0, [(2, 3)]),
        (lambda a: a.exp(), [()]),
    ],
)
def test_gradcheck_and_gradgradcheck_pass_for_right_gradients(fn, shapes):
    xs = [leaf(*s) for s in shapes]
    assert gradcheck(fn, xs)
    assert gradgradcheck(fn, xs)


class HalfWrong(ember.autograd.Function):
    """exp with a VJP that is right for the first input only."""

    @staticmethod
    def forward(ctx, a, b):
        ea = a.exp()
        ctx.save_for_backward(ea, b)
        return ea * b

    @staticmethod
    def backward(ctx, g):
        ea, b = ctx.saved_tensors
        return g * ea * b, g * 2.0 * ea  # d/db should be g * ea


def test_gradcheck_catches_a_wrong_vjp_for_one_input():
    a, b = leaf(4), leaf(4)
    assert gradcheck(HalfWrong.apply, (a, b.detach()))  # b constant: only the right part
    with pytest.raises(
        GradcheckError,
        match=r"gradcheck: direction 0: autograd gives .* central "
        r"differences give .*inputs \[0, 1\], shapes "
        r"\[\(4,\), \(4,\)\]",
    ):
        gradcheck(HalfWrong.apply, (a, b))


def test_gradcheck_input_errors():
    with pytest.raises(
        GradcheckError,
        match="gradcheck: inputs that require grad must be float64, got ember.float32",
    ):
        gradcheck(lambda a: a * 2, (leaf(2, dtype=ember.float32),))
    with pytest.raises(GradcheckError, match="gradcheck: no input requires grad"):
        gradcheck(lambda a: a * 2, (ember.ones(2, dtype=ember.float64),))
    with pytest.raises(GradcheckError, match="gradcheck: fn returned no floating-point output"):
        gradcheck(lambda a: ember.tensor([1, 2]), (leaf(2),))


def test_gradgradcheck_ignores_constant_outputs():
    a = leaf(3)
    assert gradgradcheck(lambda t: (t.exp(), ember.ones(2, dtype=ember.float64)), (a,))


def test_assert_close_passes_within_tolerance():
    assert_close(ember.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0 + 1e-6]))
    assert_close(ember.tensor([float("nan"), 1.0]), np.array([np.nan, 1.0], np.float32))
    assert_close(ember.tensor([1, 2]), torch.tensor([1, 2]))
    assert_close(ember.zeros(0, 3), torch.zeros(0, 3))
    assert_close(ember.tensor([1.0, 2.0]), ember.tensor([1.1, 2.1]), rtol=0, atol=0.11)
    assert_close(ember.tensor([1, 2], dtype=ember.int32), [1.0, 2.0], check_dtype=False)


@pytest.mark.parametrize(
    "actual, expected, match",
    [
        (
            ember.tensor([1.0, 2.0]),
            torch.tensor([1.0, 2.001]),
            r"1 of 2 values differ \(rtol=1e-05",
        ),
        (
            ember.tensor([1.0, 2.0]),
            torch.tensor([1.0, 2.0, 3.0]),
            r"shape \(2,\) != expected \(3,\)",
        ),
        (
            ember.tensor([1.0, 2.0]),
            torch.tensor([1.0, 2.0], dtype=torch.float64),
            "dtype float32 != expected float64",
        ),
        (
            ember.tensor([float("nan"), 1.0]),
            torch.tensor([1.0, float("nan")]),
            "2 of 2 values differ",
        ),
        (ember.tensor([float("inf")]), torch.tensor([-float("inf")]), "1 of 1 values differ"),
        (ember.tensor([1, 2]), torch.tensor([1, 3]), r"values differ at \[\[1\]\]"),
        (ember.tensor([True, False]), torch.tensor([True, True]), r"values differ at \[\[1\]\]"),
        (
            ember.tensor([1e-3], dtype=ember.float64),
            torch.tensor([1.0001e-3], dtype=torch.float64),
            r"rtol=1e-09, atol=1e-10",
        ),
    ],
)
def test_assert_close_catches_differences(actual, expected, match):
    with pytest.raises(AssertionError, match=match):
        assert_close(actual, expected)


def test_assert_close_message_prefix():
    with pytest.raises(AssertionError, match="^grad of x: shape"):
        assert_close(ember.ones(2), ember.ones(3), msg="grad of x")
