"""nn.functional.pad against PyTorch: every mode, negative pads, gradients of any order."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F
from ember.errors import EmberValueError
from ember.testing.optest import OpCase, params, run_case

ALL = ("float16", "float32", "float64", "int32", "int64", "bool")
NUMERIC = ("float16", "float32", "float64", "int32", "int64")


def pad_case(name, pad, mode="constant", shapes=None, dtypes=ALL, **kw):
    extra = {} if "value" not in kw else {"value": kw.pop("value")}
    return OpCase(
        name,
        lambda x: F.pad(x, pad, mode, **extra),
        lambda x: TF.pad(x, pad, mode, **extra),
        shapes=shapes,
        dtypes=dtypes,
        **kw,
    )


C = [((),), ((5,),), ((3, 4),), ((2, 3, 4),), ((0, 3),), ((2, 0, 3),)]
ONE = [((2, 5),), ((2, 3, 5),), ((0, 3, 5),)]  # (C, W) and (N, C, W)
TWO = [((2, 4, 5),), ((2, 3, 4, 5),)]
THREE = [((1, 3, 4, 5),), ((2, 1, 3, 4, 5),)]

CASES = [
    pad_case("constant_empty", (), shapes=C),
    pad_case("constant_last", (1, 2), shapes=C[1:]),
    pad_case("constant_two", (1, 0, 2, 3), shapes=[((3, 4),), ((2, 3, 4),), ((0, 3),)]),
    pad_case("constant_all_dims", (1, 1, 0, 2, 3, 0), shapes=[((2, 3, 4),), ((2, 0, 3),)]),
    pad_case("constant_value", (2, 1), shapes=C[1:], value=1.5),
    pad_case("constant_value_neg", (1, 1, 1, 1), shapes=[((3, 4),)], value=-3.5),
    pad_case("constant_crop", (-1, -2), shapes=[((5,),), ((3, 4),), ((2, 3, 4),)]),
    pad_case("constant_crop_all", (-2, -2), shapes=[((4,),), ((3, 4),)]),
    pad_case("constant_mixed", (-1, 2, 3, -1), shapes=[((3, 4),), ((2, 3, 4),)]),
    pad_case("constant_explicit", (1, 1), mode="constant", shapes=[((2, 3),)], value=0),
    pad_case("reflect_1d", (2, 3), "reflect", ONE, NUMERIC),
    pad_case("reflect_2d", (1, 2, 3, 1), "reflect", TWO, NUMERIC),
    pad_case("reflect_3d", (1, 2, 0, 1, 2, 2), "reflect", THREE, NUMERIC),
    pad_case("reflect_max", (4, 4), "reflect", ONE, NUMERIC),
    pad_case("reflect_crop", (-1, 2), "reflect", ONE, NUMERIC),
    pad_case("reflect_crop_far", (-4, 3), "reflect", ONE, NUMERIC),
    pad_case("reflect_crop_2d", (2, -1, -2, 1), "reflect", TWO, NUMERIC),
    pad_case("replicate_1d", (2, 3), "replicate", ONE, NUMERIC),
    pad_case("replicate_big", (7, 9), "replicate", ONE, NUMERIC),
    pad_case("replicate_2d", (1, 2, 3, 1), "replicate", TWO, NUMERIC),
    pad_case("replicate_3d", (1, 0, 2, 1, 1, 3), "replicate", THREE, NUMERIC),
    pad_case("replicate_crop", (-2, 3, 1, -1), "replicate", TWO, NUMERIC),
    pad_case("circular_1d", (2, 3), "circular", ONE, ALL),
    pad_case("circular_full", (5, 5), "circular", ONE, ALL),
    pad_case("circular_2d", (1, 2, 3, 1), "circular", TWO, ALL),
    pad_case("circular_3d", (1, 2, 3, 0, 1, 1), "circular", THREE, ALL),
    pad_case("circular_crop", (-1, 3), "circular", ONE, ALL),
    pad_case("circular_crop_left", (2, -1), "circular", ONE, ALL),
    pad_case("circular_crop_2d", (-1, 2, 1, -2), "circular", TWO, ALL),
]


@pytest.mark.parametrize("case, dtype", params(CASES))
def test_pad(case, dtype):
    run_case(case, dtype)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_grad_accumulates_and_second_order(mode):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 4, 5))
    w = rng.standard_normal((2, 3, 7, 9))

    def grads(lib, pad_fn, x):
        y = pad_fn(x, (2, 2, 1, 2), mode)
        (g,) = lib.autograd.grad((y * y * lib.tensor(w)).sum(), x, create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), x)
        return g.detach().numpy(), h.numpy()

    got = grads(ember, F.pad, ember.tensor(a, requires_grad=True))
    exp = grads(torch, TF.pad, torch.tensor(a, requires_grad=True))
    for g, e in zip(got, exp):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


def test_pad_is_a_copy():
    x = ember.zeros(2, 3)
    y = F.pad(x, (0, 0))
    z = F.pad(x, (-1, 0))
    x.add_(1)
    assert y.tolist() == [[0.0] * 3] * 2 and z.tolist() == [[0.0] * 2] * 2
    assert y._version == 0 and z._version == 0


def test_pad_value_cast_like_torch():
    for dt, value in [(ember.int32, 3.7), (ember.int64, -3.7), (ember.bool, 0.5)]:
        got = F.pad(ember.zeros(1, 2, dtype=dt), (1, 1), value=value)
        exp = TF.pad(torch.zeros(1, 2, dtype=getattr(torch, dt.name)), (1, 1), value=value)
        assert got.tolist() == exp.tolist()


ERRORS = [
    (
        lambda: F.pad(ember.ones(2, 3), (1,)),
        ember.ShapeError,
        r"pad: padding length must be divisible by 2, got 1",
    ),
    (
        lambda: F.pad(ember.ones(2, 3), (1, 1, 1, 1, 1, 1)),
        ember.ShapeError,
        r"pad: padding length 6 is more than two times .* \(shape \(2, 3\)\)",
    ),
    (
        lambda: F.pad(ember.ones(2, 3), (1.5, 1)),
        ember.DTypeError,
        r"pad: padding must be a sequence of ints, got 1.5 of type float at position 0",
    ),
    (
        lambda: F.pad(ember.ones(2, 4), (-3, -2)),
        ember.ShapeError,
        r"pad: padding \(-3, -2\) of dim 1 of input shape \(2, 4\) crops more than the 4",
    ),
    (
        lambda: F.pad(ember.ones(2, 3), (1, 1), mode="foo"),
        EmberValueError,
        r"pad: unknown padding mode 'foo'",
    ),
    (
        lambda: F.pad(ember.ones(2, 3), (1, 1), mode="reflect", value=2.0),
        EmberValueError,
        r'pad: padding mode "reflect" does not take a value argument',
    ),
    (
        lambda: F.pad(ember.ones(2, 3, 4), (4, 1), mode="reflect"),
        ember.ShapeError,
        r"pad: padding \(4, 1\) of dim 2 of input shape \(2, 3, 4\): reflect padding must be "
        r"smaller than the dim size 4",
    ),
    (
        lambda: F.pad(ember.ones(2, 3, 4), (5, 1), mode="circular"),
        ember.ShapeError,
        r"pad: padding \(5, 1\) of dim 2 of input shape \(2, 3, 4\) wraps around more than once",
    ),
    (
        lambda: F.pad(ember.ones(2, 4), (-2, 3), mode="circular"),
        ember.ShapeError,
        r"pad: padding \(-2, 3\) of dim 1 .* wraps around more than once \(at most 2 per side\)",
    ),
    (
        lambda: F.pad(ember.ones(1, 4), (-3, -1), mode="replicate"),
        ember.ShapeError,
        r"pad: padding \(-3, -1\) of dim 1 of input shape \(1, 4\) leaves no elements",
    ),
    (
        lambda: F.pad(ember.ones(4), (1, 1), mode="reflect"),
        ember.ShapeError,
        r"pad: padding of length 2 is not supported for a 1-D input \(shape \(4,\)\) in reflect",
    ),
    (
        lambda: F.pad(ember.ones(2, 3, 4), (1, 1, 1, 1, 1, 1), mode="replicate"),
        ember.ShapeError,
        r"pad: padding of length 6 is not supported for a 3-D input \(shape \(2, 3, 4\)\)",
    ),
    (
        lambda: F.pad(ember.ones(1, 1, 1, 2, 3, 4), (1, 1, 1, 1, 1, 1), mode="circular"),
        ember.ShapeError,
        r"pad: padding of length 6 is not supported for a 6-D input",
    ),
    (
        lambda: F.pad(ember.ones(2, 0, 3), (1, 1), mode="reflect"),
        ember.ShapeError,
        r"pad: reflect padding expects non-empty dims \(except a batch dim\), got shape "
        r"\(2, 0, 3\)",
    ),
    (
        lambda: F.pad(ember.ones(2, 3, dtype=ember.bool), (1, 1), mode="replicate"),
        ember.DTypeError,
        r"pad: replicate padding is not supported for bool tensors",
    ),
    (
        lambda: F.pad(ember.ones(2, 3, dtype=ember.bool), (1, 1), mode="reflect"),
        ember.DTypeError,
        r"pad: reflect padding is not supported for bool tensors",
    ),
]


@pytest.mark.parametrize("fn, exc, match", ERRORS)
def test_pad_errors(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


@pytest.mark.parametrize(
    "shape, pad, mode",
    [
        ((2, 4), (1,), "constant"),
        ((2, 4), (1, 1, 1, 1, 1, 1), "constant"),
        ((2, 4), (-3, -2), "constant"),
        ((2, 3, 4), (4, 1), "reflect"),
        ((2, 3, 4), (5, 1), "circular"),
        ((4,), (1, 1), "reflect"),
        ((2, 0, 3), (1, 1), "replicate"),
    ],
)
def test_pad_errors_where_torch_raises(shape, pad, mode):
    with pytest.raises(Exception):  # noqa: B017 - the torch side of the table above
        TF.pad(torch.ones(shape), pad, mode)
    with pytest.raises(ember.EmberError, match=r"^pad: "):
        F.pad(ember.ones(*shape), pad, mode)
