"""Reductions at their edges against PyTorch: ties, NaN, zeros in products, norms at 0,
higher-order gradients, result types and dtypes."""

import math
import warnings

import numpy as np
import pytest
import torch

import ember
from ember.testing.compare import assert_close
from ember.testing.optest import OpCase, params, run_case


def with_zeros(rng, dtype, shapes):
    """Rows of 4 values holding 0, 1, 2 and 3 zeros (the cases prod's gradient must get)."""
    (s,) = shapes
    x = (rng.uniform(0.8, 1.25, s) * rng.choice([-1, 1], s)).astype(dtype)
    for r, zeros in enumerate([0, 1, 2, 3, 1, 2]):
        x[r, rng.permutation(4)[:zeros]] = 0
    return [x]


ZERO_CASES = [
    OpCase(
        "prod_zeros",
        lambda a: ember.prod(a, 1),
        lambda a: torch.prod(a, 1),
        shapes=[((6, 4),)],
        make=with_zeros,
    ),
    OpCase(
        "prod_zeros_all",
        ember.prod,
        torch.prod,
        shapes=[((1, 4),)],
        make=lambda rng, dt, s: [with_zeros(rng, dt, [(6, 4)])[0][1:2]],
    ),
    OpCase(
        "cumprod_zeros",
        lambda a: ember.cumprod(a, 1),
        lambda a: torch.cumprod(a, 1),
        shapes=[((6, 4),)],
        make=with_zeros,
        gradgrad=False,
    ),
]


@pytest.mark.parametrize("case, dtype", params(ZERO_CASES))
def test_zeros_in_products(case, dtype):
    run_case(case, dtype)


# ---- ties, zeros and NaN ------------------------------------------------------------------------


def _put(values, dtype="float32"):
    return lambda rng, dt, shapes: [np.array(values, dtype=dt)]


NAN = math.nan
TIES = [[1.0, 3.0, 3.0, 2.0], [2.0, 2.0, 1.0, 2.0], [0.5, -1.0, -1.0, 0.5]]
NANS = [[1.0, NAN, 3.0, NAN], [NAN, 2.0, 1.0, 0.0], [0.5, -1.0, -1.0, 0.5]]
# topk orders ties in its own way (not by index): keep finite values distinct there
NANS_DISTINCT = [[1.0, NAN, 3.0, NAN], [NAN, 2.0, 1.0, 0.0], [0.5, -1.0, -2.0, 0.25]]
SPECIAL = [
    # (label, data, ember fn, torch fn)
    ("amax_ties", TIES, ember.amax, torch.amax),
    ("amax_ties_dim", TIES, lambda a: a.amax(1), lambda a: a.amax(1)),
    ("amin_ties_dim0", TIES, lambda a: a.amin(0), lambda a: a.amin(0)),
    ("max_ties", TIES, ember.max, torch.max),
    ("min_ties_dim", TIES, lambda a: a.min(1), lambda a: a.min(1)),
    ("norm_inf_ties", TIES, lambda a: a.norm(math.inf, 1), lambda a: a.norm(math.inf, 1)),
    ("norm_ninf_ties", TIES, lambda a: a.norm(-math.inf), lambda a: a.norm(-math.inf)),
    ("median_ties", [[1.0, 2.0, 2.0, 2.0, 3.0]], lambda a: a.median(), lambda a: a.median()),
    ("median_ties_dim", [[1.0, 2.0, 2.0, 2.0, 3.0]], lambda a: a.median(1), lambda a: a.median(1)),
    ("kthvalue_ties", [[2.0, 2.0, 2.0, 1.0]], lambda a: a.kthvalue(2), lambda a: a.kthvalue(2)),
    (
        "sort_stable_ties",
        [[2.0, 1.0, 2.0, 1.0, 2.0]] * 2,
        lambda a: a.sort(stable=True),
        lambda a: a.sort(stable=True),
    ),
    (
        "sort_stable_desc_ties",
        [[2.0, 1.0, 2.0, 1.0, 2.0]] * 2,
        lambda a: a.sort(descending=True, stable=True),
        lambda a: a.sort(descending=True, stable=True),
    ),
    ("argmax_ties", TIES, lambda a: a.argmax(1), lambda a: a.argmax(1)),
    ("amax_nan", NANS, ember.amax, torch.amax),
    ("amax_nan_dim", NANS, lambda a: a.amax(1), lambda a: a.amax(1)),
    ("amin_nan_dim", NANS, lambda a: a.amin(-1, True), lambda a: a.amin(-1, True)),
    ("max_nan", NANS, ember.max, torch.max),
    ("min_nan", [[1.0, NAN, NAN]], ember.min, torch.min),
    ("max_nan_dim", NANS, lambda a: a.max(1), lambda a: a.max(1)),
    ("min_nan_dim", NANS, lambda a: a.min(1), lambda a: a.min(1)),
    ("argmax_nan", NANS, ember.argmax, torch.argmax),
    ("argmin_nan_dim", NANS, lambda a: a.argmin(1), lambda a: a.argmin(1)),
    ("norm_inf_nan", NANS, lambda a: a.norm(math.inf, 1), lambda a: a.norm(math.inf, 1)),
    ("norm_p1_nan", NANS, lambda a: a.norm(1, 1), lambda a: a.norm(1, 1)),
    ("norm_p2_nan", NANS, lambda a: a.norm(2, 1), lambda a: a.norm(2, 1)),
    ("logsumexp_nan", NANS, lambda a: a.logsumexp(1), lambda a: a.logsumexp(1)),
    ("sum_nan", NANS, lambda a: a.sum(1), lambda a: a.sum(1)),
    ("sort_nan", NANS, lambda a: a.sort(1), lambda a: a.sort(1)),
    ("sort_nan_desc", NANS, lambda a: a.sort(1, True), lambda a: a.sort(1, True)),
    ("topk_nan", NANS_DISTINCT, lambda a: a.topk(2), lambda a: a.topk(2)),
    (
        "topk_nan_smallest",
        NANS_DISTINCT,
        lambda a: a.topk(2, largest=False),
        lambda a: a.topk(2, largest=False),
    ),
    ("median_nan", NANS, lambda a: a.median(1), lambda a: a.median(1)),
    ("median_nan_all", NANS, lambda a: a.median(), lambda a: a.median()),
    ("kthvalue_nan", NANS, lambda a: a.kthvalue(4), lambda a: a.kthvalue(4)),
    ("norm_p2_zero", [[0.0, 0.0], [3.0, 4.0]], lambda a: a.norm(dim=1), lambda a: a.norm(dim=1)),
    ("norm_p3_zero", [[0.0, 0.0], [0.0, 4.0]], lambda a: a.norm(3, 1), lambda a: a.norm(3, 1)),
    (
        "norm_p0.5_zero",
        [[0.0, 0.0], [0.0, 4.0]],
        lambda a: a.norm(0.5, 1),
        lambda a: a.norm(0.5, 1),
    ),
    ("norm_p-1_zero", [[0.0, 1.0], [2.0, 4.0]], lambda a: a.norm(-1, 1), lambda a: a.norm(-1, 1)),
    ("std_zero", [[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]], lambda a: a.std(1), lambda a: a.std(1)),
    ("var_one_element", [[1.0], [2.0]], lambda a: a.var(1), lambda a: a.var(1)),
    (
        "logsumexp_inf",
        [[-math.inf, -math.inf], [math.inf, 1.0], [1e4, 1e4]],
        lambda a: a.logsumexp(1),
        lambda a: a.logsumexp(1),
    ),
    (
        "logsumexp_large",
        [[1e4, -1e4, 1e4 - 1], [-1e4, -1e4 - 2, -1e4 + 1]],
        lambda a: a.logsumexp(-1),
        lambda a: a.logsumexp(-1),
    ),
]


@pytest.mark.parametrize("label, data, efn, tfn", SPECIAL, ids=[s[0] for s in SPECIAL])
def test_special_values(label, data, efn, tfn):
    """Forward values and gradients (float32, no finite-difference check at the kinks)."""
    case = OpCase(label, efn, tfn, shapes=[((),)], make=_put(data), dtypes=("float32",))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_case(case, "float32")


def test_prod_second_order_with_zeros_matches_torch():
    """d2 prod / dx2 contracted with a direction, rows with 0, 1, 2 and 3 zeros."""
    x0 = with_zeros(np.random.default_rng(3), "float64", [(6, 4)])[0]
    v = np.random.default_rng(4).standard_normal(x0.shape)
    x = ember.tensor(x0, requires_grad=True)
    (g,) = ember.autograd.grad(ember.prod(x, 1).sum(), x, create_graph=True)
    (h,) = ember.autograd.grad((g * ember.tensor(v)).sum(), x)
    tx = torch.tensor(x0, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.prod(tx, 1).sum(), tx, create_graph=True)
    (th,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), tx)
    assert_close(g.detach(), tg, 1e-12, 1e-12)
    assert_close(h, th, 1e-12, 1e-12)


def test_prod_third_order_raises():
    x = ember.tensor([1.0, 0.0, 2.0], requires_grad=True)
    (g,) = ember.autograd.grad(x.prod(), x, create_graph=True)
    (h,) = ember.autograd.grad(g.sum(), x, create_graph=True)
    with pytest.raises(ember.AutogradError, match="prod: gradients of order three"):
        ember.autograd.grad(h.sum(), x)


def test_cumprod_second_order_raises():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (g,) = ember.autograd.grad(x.cumprod(0).sum(), x, create_graph=True)
    with pytest.raises(ember.AutogradError, match="cumprod: gradients of order two"):
        ember.autograd.grad(g.sum(), x)


def test_prod_tuple_dims_matches_numpy():
    x = np.random.default_rng(0).uniform(0.5, 1.5, (2, 3, 4))
    assert_close(ember.prod(ember.tensor(x), (0, 2), keepdim=True), x.prod((0, 2), keepdims=True))


# ---- results, signatures, dtypes ----------------------------------------------------------------


def test_max_dim_returns_named_tuple():
    r = ember.tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1)
    values, indices = r
    assert r.values is values and r.indices is indices
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert indices.dtype == ember.int64
    assert type(r).__name__ == "max" and repr(r).startswith("ember.return_types.max(values=")


def test_max_of_bool_with_dim_matches_torch():
    x = [[True, False], [False, False]]
    r, t = ember.tensor(x).max(1), torch.tensor(x).max(1)
    assert r.values.tolist() == t.values.tolist() and r.indices.tolist() == t.indices.tolist()


@pytest.mark.parametrize("fn", ["max", "min"])
def test_binary_max_min_is_maximum_minimum(fn):
    a, b = [1.0, 5.0, -2.0], [3.0, 2.0, -2.5]
    expected = getattr(torch, fn)(torch.tensor(a), torch.tensor(b))
    assert_close(getattr(ember, fn)(ember.tensor(a), ember.tensor(b)), expected)
    assert_close(getattr(ember, fn)(ember.tensor(a), other=ember.tensor(b)), expected)


def test_reductions_on_0dim_accept_dim_0_and_minus_1():
    for dim in (0, -1):
        x = ember.tensor(2.5)
        assert x.sum(dim).shape == () and x.argmax(dim).item() == 0
        assert x.max(dim).indices.shape == () and x.sort(dim).values.item() == 2.5


def test_sum_dtype_matches_torch_result_types():
    cases = [("float32", "int32"), ("int32", "int32"), ("float16", "float32"), ("bool", "bool")]
    for src, dst in cases:
        data = [1.5, 2.7, 0.0] if src.startswith("float") else [1, 2, 0]
        got = ember.tensor(data, dtype=getattr(ember, src)).sum(dtype=getattr(ember, dst))
        exp = torch.tensor(data, dtype=getattr(torch, src)).sum(dtype=getattr(torch, dst))
        assert got.dtype.name == dst and got.item() == exp.item()


@pytest.mark.parametrize(
    "fn, dtype",
    [
        ("sum", "int32"),
        ("prod", "int32"),
        ("sum", "bool"),
        ("cumsum", "int32"),
        ("cumprod", "bool"),
        ("argmax", "float32"),
        ("count_nonzero", "float32"),
        ("all", "float32"),
        ("any", "int32"),
        ("logsumexp", "int32"),
        ("amax", "int32"),
    ],
)
def test_result_dtypes_match_torch(fn, dtype):
    data = [[1, 0, 3], [2, 2, 0]]
    args = {"cumsum": (1,), "cumprod": (1,), "logsumexp": (1,)}.get(fn, ())
    got = getattr(ember, fn)(ember.tensor(data, dtype=getattr(ember, dtype)), *args)
    exp = getattr(torch, fn)(torch.tensor(data, dtype=getattr(torch, dtype)), *args)
    assert got.dtype.name == str(exp.dtype).replace("torch.", "")


def test_all_any_with_empty_dim_tuple_reduce_nothing():
    x = [[1.0, 0.0], [2.0, 3.0]]
    assert ember.tensor(x).all(()).tolist() == torch.tensor(x).all(()).tolist()


def test_norm_p0_has_no_gradient_like_torch():
    x = ember.tensor([0.0, 1.0, -2.0], requires_grad=True)
    tx = torch.tensor([0.0, 1.0, -2.0], requires_grad=True)
    y, ty = x.norm(0), tx.norm(0)
    y.backward()
    ty.backward()
    assert y.item() == ty.item() == 2.0
    assert x.grad is None and tx.grad is None


def test_mean_and_var_of_empty_are_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = torch.var(torch.zeros(0, 2), 0)
    assert_close(ember.var(ember.zeros(0, 2), 0), expected)
    assert_close(ember.zeros(0).mean(), torch.zeros(0).mean())
