"""Pooling against PyTorch: max (values, indices, ties, NaN), average (padding, ceil_mode,
divisors), adaptive pooling (divisible and not), gradients, gradcheck/gradgradcheck, errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.native
import ember.nn.functional as F
from ember.errors import EmberValueError
from ember.testing.optest import OpCase, params, run_case


@pytest.fixture(autouse=True, params=[True, False], ids=["native", "numpy"])
def native(request):
    """Every case runs with ember's C pooling kernels and with its NumPy kernels alone."""
    with ember.native.use(request.param):
        yield request.param


F32_64 = ("float32", "float64")
ALL = ("float16", "float32", "float64")


def case(name, shapes, fn, ref, dtypes=F32_64, make=None, **kw):
    return OpCase(
        name,
        lambda x: fn(x, **kw),
        lambda x: ref(x, **kw),
        shapes=[(s,) for s in shapes],
        dtypes=dtypes,
        make=make,
        grad_tol={"float16": (5e-2, 5e-2)},
    )


def distinct(rng, dtype, shapes):
    """Distinct values (no ties), so max pooling is differentiable for gradcheck."""
    ((shape,),) = (shapes,)
    n = int(np.prod(shape))
    return [(rng.permutation(n).reshape(shape) / max(n, 1) * 4 - 2).astype(dtype)]


def ties(rng, dtype, shapes):
    """Few distinct values (ReLU-like zeros): PyTorch's first-maximum rule decides."""
    ((shape,),) = (shapes,)
    return [np.maximum(rng.integers(-3, 2, shape), 0).astype(dtype)]


def with_nan(rng, dtype, shapes):
    ((shape,),) = (shapes,)
    x = rng.uniform(-2, 2, shape).astype(dtype)
    x.flat[:: max(x.size // 3, 1)] = np.nan
    return [x]


def mp2(name, shapes, dtypes=F32_64, make=distinct, **kw):
    return case("max_pool2d-" + name, shapes, F.max_pool2d, TF.max_pool2d, dtypes, make, **kw)


def mp1(name, shapes, dtypes=F32_64, make=distinct, **kw):
    return case("max_pool1d-" + name, shapes, F.max_pool1d, TF.max_pool1d, dtypes, make, **kw)


def ap2(name, shapes, dtypes=F32_64, **kw):
    return case("avg_pool2d-" + name, shapes, F.avg_pool2d, TF.avg_pool2d, dtypes, **kw)


def aap(name, shapes, fn, ref, dtypes=F32_64, make=None, **kw):
    return case(name, shapes, fn, ref, dtypes, make, **kw)


CASES = [
    mp2("k2", [(2, 3, 6, 8), (0, 2, 4, 4)], ALL, kernel_size=2),
    mp2("k2-odd-size", [(1, 2, 5, 7)], kernel_size=2),
    mp2("k3-s2-overlap", [(2, 2, 7, 7)], kernel_size=3, stride=2),
    mp2("pad", [(1, 2, 5, 6)], kernel_size=3, stride=2, padding=1),
    mp2("dilation", [(1, 2, 8, 7)], kernel_size=(2, 3), dilation=(2, 1), stride=1),
    mp2("ceil", [(1, 2, 6, 7)], kernel_size=3, stride=2, padding=1, ceil_mode=True),
    mp2("ceil-nopad", [(2, 1, 5, 5)], kernel_size=2, ceil_mode=True),
    mp2("asym", [(1, 3, 7, 9)], kernel_size=(3, 2), stride=(1, 3), padding=(1, 0)),
    mp2("unbatched", [(3, 6, 6)], kernel_size=2),
    mp2("indices", [(2, 2, 6, 6)], kernel_size=3, stride=2, padding=1, return_indices=True),
    mp2("indices-k2", [(1, 2, 4, 6)], kernel_size=2, return_indices=True),
    mp2("ties", [(2, 3, 8, 8)], ("float32",), ties, kernel_size=2, return_indices=True),
    mp2("ties-k2", [(2, 3, 8, 8)], ("float32",), ties, kernel_size=2),  # tiling windows
    mp2("ties-k3-tiling", [(1, 2, 9, 7)], ("float32",), ties, kernel_size=3),
    mp2("nan-k2", [(2, 2, 6, 6)], ("float32",), with_nan, kernel_size=2),
    mp2("ties-overlap", [(1, 2, 7, 7)], ("float32",), ties, kernel_size=3, stride=1, padding=1),
    mp2(
        "nan", [(1, 2, 6, 6)], ("float32",), with_nan, kernel_size=3, stride=2, return_indices=True
    ),
    mp1("basic", [(2, 3, 9)], ALL, kernel_size=3),
    mp1(
        "pad-dil-ceil",
        [(1, 2, 10)],
        kernel_size=3,
        stride=2,
        padding=1,
        dilation=2,
        ceil_mode=True,
        return_indices=True,
    ),
    mp1("unbatched", [(2, 7)], kernel_size=2, stride=1),
    ap2("k2", [(2, 3, 6, 8), (0, 2, 4, 4)], ALL, kernel_size=2),
    ap2("k3-s2-pad", [(1, 2, 7, 6)], kernel_size=3, stride=2, padding=1),
    ap2(
        "no-count-pad", [(1, 2, 7, 6)], kernel_size=3, stride=2, padding=1, count_include_pad=False
    ),
    ap2("ceil", [(1, 2, 6, 7)], ALL, kernel_size=3, stride=2, padding=1, ceil_mode=True),
    ap2("ceil-no-count", [(2, 1, 5, 5)], kernel_size=2, ceil_mode=True, count_include_pad=False),
    ap2("divisor", [(1, 2, 5, 5)], kernel_size=2, stride=1, divisor_override=3),
    ap2("asym-unbatched", [(2, 5, 7)], kernel_size=(2, 3), stride=(1, 2)),
    case(
        "avg_pool1d-basic",
        [(2, 3, 9)],
        F.avg_pool1d,
        TF.avg_pool1d,
        kernel_size=3,
        stride=2,
        padding=1,
        count_include_pad=False,
    ),
    aap(
        "adaptive_avg_pool2d-divisible",
        [(2, 3, 4, 6)],
        F.adaptive_avg_pool2d,
        TF.adaptive_avg_pool2d,
        ALL,
        output_size=(2, 3),
    ),
    aap(
        "adaptive_avg_pool2d-uneven",
        [(2, 2, 5, 7)],
        F.adaptive_avg_pool2d,
        TF.adaptive_avg_pool2d,
        ALL,
        output_size=(3, 4),
    ),
    aap(
        "adaptive_avg_pool2d-grow",
        [(1, 2, 3, 2)],
        F.adaptive_avg_pool2d,
        TF.adaptive_avg_pool2d,
        output_size=(5, 3),
    ),
    aap(
        "adaptive_avg_pool2d-none",
        [(1, 2, 5, 6)],
        F.adaptive_avg_pool2d,
        TF.adaptive_avg_pool2d,
        output_size=(None, 4),
    ),
    aap(
        "adaptive_avg_pool2d-global",
        [(2, 3, 5, 5), (3, 4, 4)],
        F.adaptive_avg_pool2d,
        TF.adaptive_avg_pool2d,
        output_size=1,
    ),
    aap(
        "adaptive_avg_pool1d",
        [(2, 3, 7)],
        F.adaptive_avg_pool1d,
        TF.adaptive_avg_pool1d,
        output_size=3,
    ),
    aap(
        "adaptive_max_pool2d-divisible",
        [(2, 3, 4, 6)],
        F.adaptive_max_pool2d,
        TF.adaptive_max_pool2d,
        make=distinct,
        output_size=(2, 3),
        return_indices=True,
    ),
    aap(
        "adaptive_max_pool2d-uneven",
        [(2, 2, 5, 7), (3, 5, 5)],
        F.adaptive_max_pool2d,
        TF.adaptive_max_pool2d,
        make=distinct,
        output_size=(3, 4),
    ),
    aap(
        "adaptive_max_pool2d-ties",
        [(2, 2, 7, 5)],
        F.adaptive_max_pool2d,
        TF.adaptive_max_pool2d,
        ("float32",),
        ties,
        output_size=(3, 4),
        return_indices=True,
    ),
    aap(
        "adaptive_max_pool1d",
        [(2, 3, 7)],
        F.adaptive_max_pool1d,
        TF.adaptive_max_pool1d,
        make=distinct,
        output_size=3,
        return_indices=True,
    ),
]


@pytest.mark.parametrize("case, dtype", params(CASES))
def test_pool(case, dtype):
    run_case(case, dtype)


def test_max_pool_all_padding_window_index_matches_torch():
    x = np.full((1, 1, 3, 3), -np.inf, np.float32)
    out, idx = F.max_pool2d(ember.tensor(x), 2, stride=2, padding=1, return_indices=True)
    t_out, t_idx = TF.max_pool2d(torch.tensor(x), 2, stride=2, padding=1, return_indices=True)
    np.testing.assert_array_equal(out.numpy(), t_out.numpy())
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())


# ---- errors --------------------------------------------------------------------------------


def raises(exc, match, fn, *args, **kw):
    with pytest.raises(exc, match=match):
        fn(*args, **kw)


def test_rank_and_dtype_errors():
    raises(
        ember.ShapeError,
        r"max_pool2d: expected 3-D \(unbatched\) or 4-D .* \(4, 4\)",
        F.max_pool2d,
        ember.ones(4, 4),
        2,
    )
    raises(
        ember.ShapeError,
        r"avg_pool1d: expected 2-D \(unbatched\) or 3-D .* \(1, 1, 4, 4\)",
        F.avg_pool1d,
        ember.ones(1, 1, 4, 4),
        2,
    )
    raises(
        ember.DTypeError,
        r"max_pool2d: expected a floating-point input, got int64",
        F.max_pool2d,
        ember.ones(1, 1, 4, 4, dtype=ember.int64),
        2,
    )
    raises(
        ember.ShapeError,
        r"adaptive_avg_pool2d: expected input with non-zero sizes, got "
        r"\(1, 0, 4, 4\)",
        F.adaptive_avg_pool2d,
        ember.ones(1, 0, 4, 4),
        2,
    )


def test_window_errors():
    x = ember.ones(1, 4, 8, 8)
    raises(
        EmberValueError,
        r"max_pool2d: pad should be at most half of effective kernel size, "
        r"but got pad=\(2, 2\), kernel_size=\(2, 2\) and dilation=\(1, 1\)",
        F.max_pool2d,
        x,
        2,
        padding=2,
    )
    raises(
        EmberValueError,
        r"avg_pool2d: kernel size should be greater than zero, got \(0, 0\)",
        F.avg_pool2d,
        x,
        0,
    )
    raises(
        EmberValueError,
        r"max_pool1d: stride should be greater than zero, got \(0,\)",
        F.max_pool1d,
        ember.ones(1, 2, 8),
        2,
        stride=0,
    )
    raises(
        EmberValueError,
        r"max_pool2d: dilation should be greater than zero",
        F.max_pool2d,
        x,
        2,
        dilation=0,
    )
    raises(
        EmberValueError,
        r"avg_pool2d: divisor must be a non-zero int, got 0",
        F.avg_pool2d,
        x,
        2,
        divisor_override=0,
    )
    raises(
        EmberValueError,
        r"max_pool2d: expected kernel_size to be an int or 2 ints",
        F.max_pool2d,
        x,
        (2, 2, 2),
    )


def test_output_too_small():
    raises(
        ember.ShapeError,
        r"max_pool2d: Given input size: \(4x2x2\). Calculated output size: \(4x0x0\). Output "
        r"size is too small \(input shape \(1, 4, 2, 2\)\)",
        F.max_pool2d,
        ember.ones(1, 4, 2, 2),
        3,
    )
    raises(
        ember.ShapeError,
        r"avg_pool1d: .*Output size is too small",
        F.avg_pool1d,
        ember.ones(1, 2, 2),
        3,
    )


def test_adaptive_output_size_errors():
    x = ember.ones(1, 2, 4, 4)
    raises(
        EmberValueError,
        r"adaptive_avg_pool2d: output_size must be positive, got \(0, 2\)",
        F.adaptive_avg_pool2d,
        x,
        (0, 2),
    )
    raises(
        EmberValueError,
        r"adaptive_max_pool2d: output_size must be 2 ints, got \(1, 2, 3\)",
        F.adaptive_max_pool2d,
        x,
        (1, 2, 3),
    )


def test_tiling_max_pool_second_order_matches_torch():
    rng = np.random.default_rng(3)
    xa = np.maximum(rng.integers(-2, 3, (2, 3, 6, 6)), 0).astype(np.float64)  # ties
    wa, ua = rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(xa.shape)
    x, w = ember.tensor(xa, requires_grad=True), ember.tensor(wa, requires_grad=True)
    tx, tw = torch.tensor(xa, requires_grad=True), torch.tensor(wa, requires_grad=True)
    (gx,) = ember.autograd.grad((F.max_pool2d(x, 2) * w).sum(), [x], create_graph=True)
    (tgx,) = torch.autograd.grad((TF.max_pool2d(tx, 2) * tw).sum(), [tx], create_graph=True)
    np.testing.assert_allclose(gx.detach().numpy(), tgx.detach().numpy())
    (gw,) = ember.autograd.grad((gx * ember.tensor(ua)).sum(), [w])
    (tgw,) = torch.autograd.grad((tgx * torch.tensor(ua)).sum(), [tw])
    np.testing.assert_allclose(gw.numpy(), tgw.numpy(), rtol=1e-12)


def test_tiling_max_pool_passes_non_finite_gradients_only_to_the_maxima():
    xa = np.arange(16.0).reshape(1, 1, 4, 4)
    ga = np.array([[[[np.inf, 1.0], [np.nan, 2.0]]]])
    x, tx = ember.tensor(xa, requires_grad=True), torch.tensor(xa, requires_grad=True)
    F.max_pool2d(x, 2).backward(ember.tensor(ga))
    TF.max_pool2d(tx, 2).backward(torch.tensor(ga))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
