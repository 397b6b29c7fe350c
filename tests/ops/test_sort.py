"""Sorting and selection against PyTorch: sort, argsort, msort, topk, kthvalue, median.

Inputs hold distinct values (``distinct``) so indices are well defined; ties and NaN have
their own tests in test_reduce.py.
"""

import numpy as np
import pytest
import torch

import ember
from ember.testing.optest import OpCase, params, run_case

NUMERIC = ("float16", "float32", "float64", "int32", "int64")
SHAPES = [((),), ((0,),), ((5,),), ((3, 4),), ((2, 3, 4),), ((2, 0, 3),)]
NONEMPTY_LAST = [((),), ((5,),), ((3, 4),), ((2, 3, 4),), ((0, 3),)]


def distinct(rng, dtype, shapes):
    """Distinct values, exactly representable in every dtype (a shuffled grid)."""
    out = []
    for s in shapes:
        n = int(np.prod(s))
        grid = rng.permutation(n) - n // 2
        out.append(
            np.asarray(grid * 0.25 if np.dtype(dtype).kind == "f" else grid)
            .reshape(s)
            .astype(dtype)
        )
    return out


def case(name, efn, tfn, shapes=SHAPES, dtypes=NUMERIC, **kw):
    return OpCase(name, efn, tfn, shapes=shapes, dtypes=dtypes, make=distinct, **kw)


CASES = [
    case("sort", ember.sort, torch.sort),
    case("sort_dim0_desc", lambda a: a.sort(0, True), lambda a: a.sort(0, True)),
    case(
        "sort_stable",
        lambda a: ember.sort(a, dim=-1, stable=True),
        lambda a: torch.sort(a, dim=-1, stable=True),
    ),
    case(
        "sort_desc_stable",
        lambda a: a.sort(descending=True, stable=True, dim=-2),
        lambda a: a.sort(descending=True, stable=True, dim=-2),
        shapes=[((3, 4),), ((2, 3, 4),), ((2, 0, 3),)],
    ),
    case("argsort", ember.argsort, torch.argsort, grad=False),
    case(
        "argsort_desc_dim0", lambda a: a.argsort(0, True), lambda a: a.argsort(0, True), grad=False
    ),
    case("msort", ember.msort, torch.msort, shapes=[((5,),), ((3, 4),), ((0, 2),)]),
    case("topk1", lambda a: ember.topk(a, 1), lambda a: torch.topk(a, 1), shapes=NONEMPTY_LAST),
    case(
        "topk2_smallest_dim0",
        lambda a: a.topk(2, 0, largest=False),
        lambda a: a.topk(2, 0, largest=False),
        shapes=[((5,),), ((3, 4),), ((2, 3, 4),)],
    ),
    case(
        "topk_all",
        lambda a: a.topk(a.shape[-1], sorted=True),
        lambda a: a.topk(a.shape[-1], sorted=True),
        shapes=SHAPES[1:],
    ),
    case(
        "topk0",
        lambda a: a.topk(0, dim=1),
        lambda a: a.topk(0, dim=1),
        shapes=[((3, 4),), ((2, 0, 3),)],
    ),
    case(
        "topk3_of_many",
        lambda a: a.topk(3, dim=1, largest=a.shape[0] == 2),
        lambda a: a.topk(3, dim=1, largest=a.shape[0] == 2),
        shapes=[((2, 100),), ((3, 70, 2),)],
    ),
    case("topk_0dim_k0", lambda a: a.topk(0), lambda a: a.topk(0), shapes=[((),)]),
    case(
        "kthvalue",
        lambda a: ember.kthvalue(a, 1),
        lambda a: torch.kthvalue(a, 1),
        shapes=NONEMPTY_LAST,
    ),
    case(
        "kthvalue3_dim0_keep",
        lambda a: a.kthvalue(3, 0, True),
        lambda a: a.kthvalue(3, 0, True),
        shapes=[((5,),), ((3, 4),), ((3, 0),)],
    ),
    case(
        "kthvalue_last",
        lambda a: a.kthvalue(a.shape[-1], -1, keepdim=True),
        lambda a: a.kthvalue(a.shape[-1], -1, keepdim=True),
        shapes=NONEMPTY_LAST[1:],
    ),
    case("median_all", ember.median, torch.median, shapes=SHAPES[:1] + SHAPES[2:5]),
    case("median_all_even", ember.median, torch.median, shapes=[((4,),), ((2, 3),)]),
    case(
        "median_empty",
        ember.median,
        torch.median,
        shapes=[((0,),), ((2, 0),)],
        dtypes=("float16", "float32", "float64"),
    ),
    case("median_dim", lambda a: a.median(-1), lambda a: a.median(-1), shapes=NONEMPTY_LAST),
    case(
        "median_dim0_keep",
        lambda a: a.median(0, keepdim=True),
        lambda a: a.median(0, keepdim=True),
        shapes=[((4,),), ((3, 4),), ((2, 3, 4),)],
    ),
    case(
        "sort_bool_stable",
        lambda a: a.sort(stable=True),
        lambda a: a.sort(stable=True),
        dtypes=("bool",),
    ),
]


@pytest.mark.parametrize("case, dtype", params(CASES))
def test_op(case, dtype):
    run_case(case, dtype)


def test_inplace_cumsum_matches_torch():
    x, t = ember.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    x.cumsum_(1)
    t.cumsum_(1)
    assert x.tolist() == t.tolist() and x._version == 1


def test_topk_unsorted_returns_the_same_set():
    x = np.random.default_rng(0).permutation(20).astype(np.float32)
    got = ember.topk(ember.tensor(x), 5, sorted=False)
    exp = torch.topk(torch.tensor(x), 5, sorted=False)
    assert sorted(got.values.tolist()) == sorted(exp.values.tolist())
    assert all(x[i] == v for i, v in zip(got.indices.tolist(), got.values.tolist()))


def test_topk_ties_give_tied_values():
    x = [1.0, 2.0, 2.0, 2.0, 0.0]
    got, exp = ember.tensor(x).topk(2), torch.tensor(x).topk(2)
    assert got.values.tolist() == exp.values.tolist()
    assert all(x[i] == 2.0 for i in got.indices.tolist())


def test_sort_gradient_reaches_second_order():
    def f(lib, x):
        s = x.sort().values
        return (s * lib.tensor([1.0, 2.0, 3.0]) * s).sum()

    x = ember.tensor([3.0, 1.0, 2.0], requires_grad=True)
    (g,) = ember.autograd.grad(f(ember, x), x, create_graph=True)
    (h,) = ember.autograd.grad((g * ember.tensor([1.0, -1.0, 0.5])).sum(), x)
    tx = torch.tensor([3.0, 1.0, 2.0], requires_grad=True)
    (tg,) = torch.autograd.grad(f(torch, tx), tx, create_graph=True)
    (th,) = torch.autograd.grad((tg * torch.tensor([1.0, -1.0, 0.5])).sum(), tx)
    assert g.tolist() == tg.tolist() and h.tolist() == th.tolist()


def test_results_are_named_tuples():
    for r in (
        ember.ones(3).sort(),
        ember.ones(3).topk(1),
        ember.ones(3).kthvalue(1),
        ember.ones(3).median(0),
    ):
        values, indices = r
        assert r.values is values and r.indices is indices and indices.dtype == ember.int64


# ---- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, op",
    [
        (lambda x: x.sort(2), "sort"),
        (lambda x: x.argsort(-3), "argsort"),
        (lambda x: x.topk(1, 2), "topk"),
        (lambda x: x.kthvalue(1, 2), "kthvalue"),
        (lambda x: x.median(-3), "median"),
    ],
)
def test_dim_out_of_range(call, op):
    with pytest.raises(
        ember.ShapeError,
        match=rf"{op}: dim -?\d is out of range for a tensor "
        r"of 2 dimensions",
    ):
        call(ember.ones(2, 3))


@pytest.mark.parametrize("k", [4, -1])
def test_topk_k_out_of_range(k):
    with pytest.raises(
        ember.ShapeError,
        match=rf"topk: k \({k}\) is out of range for dim 1 of "
        r"size 3",
    ):
        ember.ones(2, 3).topk(k)


def test_topk_k_must_be_int_and_0dim_k():
    with pytest.raises(ember.DTypeError, match=r"topk: k must be an int, got float 1.0"):
        ember.ones(3).topk(1.0)
    with pytest.raises(ember.ShapeError, match=r"topk: k \(2\) is out of range for a 0-dim"):
        ember.tensor(1.0).topk(2)


@pytest.mark.parametrize("k", [0, 4])
def test_kthvalue_k_out_of_range(k):
    with pytest.raises(
        ember.ShapeError,
        match=rf"kthvalue: k \({k}\) is out of range for dim 1 "
        r"of size 3",
    ):
        ember.ones(2, 3).kthvalue(k)


@pytest.mark.parametrize(
    "call, op",
    [(lambda x: x.kthvalue(1, 0), "kthvalue"), (lambda x: x.median(0), "median")],
)
def test_selection_over_empty_dim(call, op):
    with pytest.raises(
        ember.ShapeError,
        match=rf"{op}: expected reduction dim 0 to have "
        r"non-zero size \(shape \(0, 3\)\)",
    ):
        call(ember.zeros(0, 3))


@pytest.mark.parametrize("fn", ["topk", "kthvalue", "median"])
def test_bool_input_rejected(fn):
    x = ember.tensor([True, False])
    with pytest.raises(ember.DTypeError, match=f"{fn}: bool input is not supported"):
        getattr(x, fn)(*([1] if fn != "median" else []))


def test_median_of_empty_integer_tensor():
    with pytest.raises(ember.ShapeError, match="median: the median of an empty int64 tensor"):
        ember.zeros(0, dtype=ember.int64).median()
