"""interpolate against PyTorch: nearest / nearest-exact / (bi)linear / area with sizes and
scale factors (PyTorch's coordinate and scale rules), gradients, gradcheck, errors."""

import pytest
import torch.nn.functional as TF

import ember
import ember.nn.functional as F
from ember.errors import EmberValueError
from ember.testing.optest import OpCase, params, run_case

F32_64 = ("float32", "float64")
ALL = ("float16", "float32", "float64")


def interp(name, shapes, dtypes=F32_64, **kw):
    return OpCase(
        "interpolate-" + name,
        lambda x: F.interpolate(x, **kw),
        lambda x: TF.interpolate(x, **kw),
        shapes=[(s,) for s in shapes],
        dtypes=dtypes,
        grad_tol={"float16": (5e-2, 5e-2)},
    )


IMG = [(2, 3, 5, 7), (1, 1, 4, 4), (0, 2, 3, 3)]
ODD = [(1, 2, 7, 9)]

CASES = [
    interp("nearest-size", IMG, ALL, size=(8, 11)),
    interp("nearest-down", ODD, size=(3, 4)),
    interp("nearest-scale2", IMG, scale_factor=2),
    interp("nearest-scale-frac", ODD, scale_factor=(1.7, 0.6)),
    interp("nearest-scale3", [(1, 2, 3, 4)], scale_factor=3.0),
    interp("nearest-scale-recompute", ODD, scale_factor=1.3, recompute_scale_factor=True),
    interp("nearest-same-size", [(1, 2, 3, 4)], size=(3, 4)),
    interp("nearest-exact", ODD, ALL, size=(12, 5), mode="nearest-exact"),
    interp("nearest-exact-scale", ODD, scale_factor=1.5, mode="nearest-exact"),
    interp("nearest-1d", [(2, 3, 7)], size=11),
    interp("bilinear-size", IMG, ALL, size=(8, 11), mode="bilinear"),
    interp("bilinear-down", ODD, size=(4, 5), mode="bilinear"),
    interp("bilinear-align", IMG, ALL, size=(8, 11), mode="bilinear", align_corners=True),
    interp("bilinear-align-down", ODD, size=(3, 1), mode="bilinear", align_corners=True),
    interp("bilinear-scale", ODD, scale_factor=(2.5, 0.75), mode="bilinear"),
    interp("bilinear-scale-align", ODD, scale_factor=1.5, mode="bilinear", align_corners=True),
    interp(
        "bilinear-scale-recompute",
        ODD,
        scale_factor=1.5,
        mode="bilinear",
        recompute_scale_factor=True,
    ),
    interp("bilinear-one-axis", [(1, 2, 4, 5)], size=(4, 9), mode="bilinear"),
    interp("linear-1d", [(2, 3, 7)], size=12, mode="linear"),
    interp("linear-1d-align", [(2, 3, 7)], scale_factor=0.5, mode="linear", align_corners=True),
    interp("area-2d", [(1, 2, 7, 9)], size=(3, 4), mode="area"),
    interp("area-scale", [(1, 2, 8, 6)], scale_factor=0.5, mode="area"),
    interp("area-1d", [(2, 3, 7)], size=4, mode="area"),
]


@pytest.mark.parametrize("case, dtype", params(CASES))
def test_interpolate(case, dtype):
    run_case(case, dtype)


def test_same_size_returns_a_new_tensor():
    x = ember.ones(1, 1, 2, 2)
    y = F.interpolate(x, size=(2, 2))
    assert y is not x and y.data_ptr() != x.data_ptr()


# ---- errors --------------------------------------------------------------------------------


def raises(exc, match, fn, *args, **kw):
    with pytest.raises(exc, match=match):
        fn(*args, **kw)


def test_size_errors():
    x = ember.ones(1, 1, 4, 4)
    raises(
        EmberValueError,
        r"interpolate: only one of size or scale_factor should be defined",
        F.interpolate,
        x,
        size=2,
        scale_factor=2,
    )
    raises(
        EmberValueError,
        r"interpolate: either size or scale_factor should be defined",
        F.interpolate,
        x,
    )
    raises(
        EmberValueError,
        r"interpolate: input with spatial dimensions of \[4, 4\] and output "
        r"size of \(2, 2, 2\)",
        F.interpolate,
        x,
        size=(2, 2, 2),
    )
    raises(
        EmberValueError,
        r"interpolate: .* scale_factor of \[2, 2, 2\]",
        F.interpolate,
        x,
        scale_factor=[2, 2, 2],
    )
    raises(
        EmberValueError,
        r"interpolate: recompute_scale_factor is not meaningful",
        F.interpolate,
        x,
        size=2,
        recompute_scale_factor=True,
    )
    raises(
        ember.ShapeError,
        r"interpolate: input and output sizes should be greater than 0, "
        r"but got input \[4, 4\] and output \[0, 0\]",
        F.interpolate,
        x,
        scale_factor=0.1,
    )


def test_mode_errors():
    x = ember.ones(1, 1, 4, 4)
    raises(
        EmberValueError,
        r"interpolate: align_corners option can only be set with the "
        r"interpolating modes",
        F.interpolate,
        x,
        size=2,
        align_corners=True,
    )
    raises(
        ember.ShapeError,
        r"interpolate: got 3D input of shape \(1, 1, 4\), but bilinear "
        r"mode needs 4D input",
        F.interpolate,
        ember.ones(1, 1, 4),
        size=2,
        mode="bilinear",
    )
    raises(
        ember.ShapeError,
        r"interpolate: got 4D input .* linear mode needs 3D",
        F.interpolate,
        x,
        size=2,
        mode="linear",
    )
    raises(
        EmberValueError,
        r"interpolate: mode 'bicubic' is not supported",
        F.interpolate,
        x,
        size=2,
        mode="bicubic",
    )
    raises(
        ember.DTypeError,
        r"interpolate: expected a floating-point input, got int64",
        F.interpolate,
        ember.ones(1, 1, 2, 2, dtype=ember.int64),
        size=3,
    )
    raises(
        EmberValueError,
        r"interpolate: antialias=True is not supported",
        F.interpolate,
        x,
        size=2,
        mode="bilinear",
        antialias=True,
    )
