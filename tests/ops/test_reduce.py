"""Reductions and scans against PyTorch: every dim form (None, int, negative, tuple, 0-dim
tensors), keepdim both ways, size-0 dims, dtypes, gradients (ties, zeros, NaN) and errors."""

import math
import warnings

import numpy as np
import pytest
import torch

import ember
from ember.errors import EmberValueError
from ember.testing.optest import OpCase, params, run_case

FLOATS = ("float16", "float32", "float64")
INTS = ("int32", "int64")
NUMERIC = FLOATS + INTS

# Reductions with an identity accept empty dims; (shape,) tuples as the harness expects.
ANY = [((),), ((0,),), ((5,),), ((3, 4),), ((2, 3, 4),), ((2, 0, 3),)]
MAT = [((3, 4),), ((2, 3, 4),), ((2, 0, 3),), ((0, 3),)]
# Shapes whose reduced dims are never empty (max, argmax, ...).
FULL = [((),), ((5,),), ((3, 4),), ((2, 3, 4),)]
LAST = FULL + [((0, 3),)]
FIRST = FULL + [((3, 0),)]

SUM_DIMS = [
    ("all", {}, ANY),
    ("dim-1", {"dim": -1}, ANY),
    ("dim0-keep", {"dim": 0, "keepdim": True}, ANY),
    ("dims0,-1", {"dim": (0, -1)}, MAT),
    ("dims-2-keep", {"dim": [-2], "keepdim": True}, MAT),
    ("dims()", {"dim": ()}, ANY),
]
INT_DIMS = [
    ("all", {}, FULL),
    ("dim-1", {"dim": -1}, LAST),
    ("dim0-keep", {"dim": 0, "keepdim": True}, FIRST),
]


def table(name, efn, tfn, dims, **kw):
    """One OpCase per dim configuration, calling ``efn(x, **cfg)`` and ``tfn(x, **cfg)``."""
    return [
        OpCase(
            f"{name}-{label}",
            lambda a, c=cfg: efn(a, **c),
            lambda a, c=cfg: tfn(a, **c),
            shapes=shapes,
            **kw,
        )
        for label, cfg, shapes in dims
    ]


def unit_magnitudes(rng, dtype, shapes):
    """Values of magnitude 0.8..1.25 and random sign: products stay well scaled."""
    return [
        np.asarray(
            rng.uniform(0.8, 1.25, s) * rng.choice([-1, 1], s)
            if np.dtype(dtype).kind == "f"
            else rng.integers(-2, 3, s)
        ).astype(dtype)
        for s in shapes
    ]


CASES = (
    table("sum", ember.sum, torch.sum, SUM_DIMS, dtypes=NUMERIC + ("bool",))
    + table("mean", ember.mean, torch.mean, SUM_DIMS)
    + table(
        "prod",
        ember.prod,
        torch.prod,
        INT_DIMS[:1] + SUM_DIMS[1:3],
        make=unit_magnitudes,
        dtypes=NUMERIC + ("bool",),
    )
    + table(
        "amax",
        ember.amax,
        torch.amax,
        INT_DIMS + [("dims", {"dim": (0, -1)}, MAT[:2])],
        dtypes=NUMERIC + ("bool",),
    )
    + table(
        "amin",
        ember.amin,
        torch.amin,
        INT_DIMS + [("dims", {"dim": (-1, 0)}, MAT[:2])],
        dtypes=NUMERIC,
    )
    + table("max", ember.max, torch.max, INT_DIMS, dtypes=NUMERIC)
    + table("min", ember.min, torch.min, INT_DIMS, dtypes=NUMERIC)
    + table(
        "argmax",
        ember.argmax,
        torch.argmax,
        INT_DIMS + [("keep", {"keepdim": True}, FULL)],
        dtypes=NUMERIC,
        grad=False,
    )
    + table("argmin", ember.argmin, torch.argmin, INT_DIMS, dtypes=NUMERIC, grad=False)
    + table("logsumexp", ember.logsumexp, torch.logsumexp, SUM_DIMS[1:5], dtypes=FLOATS + INTS)
    + table("all", ember.all, torch.all, SUM_DIMS[:5], dtypes=("bool", "float32", "int64"))
    + table("any", ember.any, torch.any, SUM_DIMS[:5], dtypes=("bool", "float32", "int32"))
    + table(
        "count_nonzero",
        ember.count_nonzero,
        torch.count_nonzero,
        [c for c in SUM_DIMS if "keep" not in c[0]],
        dtypes=NUMERIC + ("bool",),
        grad=False,
    )
    + table(
        "cumsum",
        ember.cumsum,
        torch.cumsum,
        [("dim0", {"dim": 0}, ANY), ("dim-1", {"dim": -1}, ANY)],
        dtypes=NUMERIC + ("bool",),
    )
    + table(
        "cumprod",
        ember.cumprod,
        torch.cumprod,
        [("dim0", {"dim": 0}, ANY), ("dim-1", {"dim": -1}, ANY)],
        dtypes=NUMERIC,
        make=unit_magnitudes,
        gradgrad=False,
    )
    + [
        OpCase(
            "max_keepdim_pos",
            lambda a: a.max(1, True),
            lambda a: a.max(1, True),
            shapes=[((3, 4),), ((0, 3),)],
        ),
        OpCase(
            "sum_dtype",
            lambda a: ember.sum(a, 0, dtype=ember.float64),
            lambda a: torch.sum(a, 0, dtype=torch.float64),
            dtypes=FLOATS + INTS,
            shapes=[((3, 4),), ((0, 2),)],
        ),
        OpCase(
            "sum_dtype_int32",
            lambda a: a.sum(dtype=ember.int32),
            lambda a: a.sum(dtype=torch.int32),
            dtypes=("int32", "int64", "bool"),
        ),
        OpCase(
            "mean_dtype",
            lambda a: a.mean(-1, dtype=ember.float64),
            lambda a: a.mean(-1, dtype=torch.float64),
            dtypes=INTS + ("float32",),
        ),
        OpCase(
            "prod_dtype",
            lambda a: a.prod(0, dtype=ember.float32),
            lambda a: a.prod(0, dtype=torch.float32),
            dtypes=INTS,
            shapes=[((3, 4),)],
            make=unit_magnitudes,
        ),
        OpCase(
            "cumsum_dtype",
            lambda a: a.cumsum(1, dtype=ember.int32),
            lambda a: a.cumsum(1, dtype=torch.int32),
            dtypes=INTS,
            shapes=[((3, 4),)],
        ),
        OpCase(
            "cumsum_dtype_f64",
            lambda a: a.cumsum(-1, dtype=ember.float64),
            lambda a: a.cumsum(-1, dtype=torch.float64),
            dtypes=("float32", "int32"),
            shapes=[((3, 4),)],
        ),
        OpCase(
            "norm_dtype",
            lambda a: a.norm(dtype=ember.float64),
            lambda a: a.norm(dtype=torch.float64),
            dtypes=("float16", "float32"),
            shapes=[((3, 4),)],
        ),
    ]
)

# var/std: reductions of at least 2 elements, so the checks never meet 0/0.
VAR_SHAPES = [((5,),), ((3, 4),), ((2, 3, 4),), ((2, 0, 3),)]
VAR_CONFIGS = [
    ("all", {}, VAR_SHAPES),
    ("dim-1-c0", {"dim": -1, "correction": 0}, VAR_SHAPES + [((),)]),
    ("dim0-keep", {"dim": 0, "keepdim": True}, VAR_SHAPES),
    ("dims-c2", {"dim": (0, -1), "correction": 2}, [((3, 4),), ((2, 3, 4),)]),
    ("c0.5", {"correction": 0.5}, VAR_SHAPES),
]
for name in ("var", "std", "var_mean", "std_mean"):
    CASES += table(name, getattr(ember, name), getattr(torch, name), VAR_CONFIGS)
CASES += [
    OpCase(
        "var_unbiased_pos",
        lambda a: a.var(1, False, True),
        lambda a: a.var(1, False, True),
        shapes=[((3, 4),)],
    ),
    OpCase(
        "std_unbiased_only",
        lambda a: ember.std(a, False),
        lambda a: torch.std(a, False),
        shapes=[((3, 4),)],
    ),
    OpCase(
        "var_unbiased_kw",
        lambda a: a.var(0, unbiased=False),
        lambda a: a.var(0, unbiased=False),
        shapes=[((3, 4),)],
    ),
]

# Norms: every order PyTorch's vector norm has, over all dims, one dim and two dims.
NORM_DIMS = [
    ("all", {}, ANY),
    ("dim-1-keep", {"dim": -1, "keepdim": True}, ANY),
    ("dims", {"dim": (0, 1)}, MAT),
]
NORM_DIMS_NONEMPTY = [("all", {}, FULL), ("dim-1", {"dim": -1}, LAST)]
for p in (2, 1, 3, 1.5, 0.5, 0):
    CASES += table(
        f"norm_p{p}",
        lambda a, p=p, **kw: ember.norm(a, p, **kw),
        lambda a, p=p, **kw: torch.norm(a, p, **kw),
        NORM_DIMS,
        domain=(0.2, 2.0) if p < 1 else (-2.0, 2.0),
        gradgrad=p != 0,
    )
for p in (math.inf, -math.inf, -1.0, -2.5):
    CASES += table(
        f"norm_p{p}",
        lambda a, p=p, **kw: ember.norm(a, p, **kw),
        lambda a, p=p, **kw: torch.norm(a, p, **kw),
        NORM_DIMS_NONEMPTY,
    )
CASES += table(
    "norm_fro", lambda a, **kw: a.norm("fro", **kw), lambda a, **kw: a.norm("fro", **kw), NORM_DIMS
)


@pytest.mark.parametrize("case, dtype", params(CASES))
def test_op(case, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about var's degrees of freedom
        run_case(case, dtype)


# ---- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, op",
    [
        (lambda x: x.sum(2), "sum"),
        (lambda x: x.mean((0, 3)), "mean"),
        (lambda x: x.amax(-3), "amax"),
        (lambda x: x.max(5), "max"),
        (lambda x: x.argmax(2), "argmax"),
        (lambda x: x.var(2), "var"),
        (lambda x: x.logsumexp(2), "logsumexp"),
        (lambda x: x.norm(dim=2), "norm"),
        (lambda x: x.all(2), "all"),
        (lambda x: x.cumsum(-3), "cumsum"),
        (lambda x: x.count_nonzero(2), "count_nonzero"),
    ],
)
def test_dim_out_of_range(call, op):
    x = ember.ones(2, 3)
    with pytest.raises(
        ember.ShapeError,
        match=rf"{op}: dim -?\d is out of range for a tensor "
        r"of 2 dimensions",
    ):
        call(x)


def test_repeated_dim_rejected():
    with pytest.raises(ember.ShapeError, match=r"sum: dim \(0, -2\) names a dimension twice"):
        ember.ones(2, 3).sum((0, -2))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x: x.max(), r"max: cannot reduce an empty tensor of shape \(0, 3\) over all dims"),
        (
            lambda x: x.min(0),
            r"min: expected reduction dim 0 to have non-zero size \(shape "
            r"\(0, 3\)\)",
        ),
        (lambda x: x.amax(0), r"amax: expected reduction dim 0 to have non-zero size"),
        (lambda x: x.amin(), r"amin: cannot reduce an empty tensor of shape \(0, 3\)"),
        (lambda x: x.argmax(), r"argmax: cannot reduce an empty tensor of shape \(0, 3\)"),
        (lambda x: x.argmin(0), r"argmin: expected reduction dim 0 to have non-zero size"),
        (
            lambda x: x.norm(math.inf),
            r"norm: cannot compute the inf norm of an empty tensor "
            r"\(shape \(0, 3\)\)",
        ),
        (lambda x: x.norm(-math.inf, 0), r"norm: cannot compute the -inf norm of an empty"),
    ],
)
def test_reduction_over_empty_dim(call, message):
    with pytest.raises(ember.ShapeError, match=message):
        call(ember.zeros(0, 3))


def test_max_over_nonempty_dim_of_empty_tensor_is_fine():
    assert ember.zeros(0, 3).max(1).values.shape == (0,)
    assert ember.zeros(0, 3).argmax(1).shape == (0,)


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_mean_of_integer_tensor(dtype):
    with pytest.raises(
        ember.DTypeError,
        match=rf"mean: could not infer output dtype. Input dtype "
        rf"must be a floating point dtype, got {dtype}",
    ):
        ember.ones(3, dtype=getattr(ember, dtype)).mean()


def test_mean_with_integer_dtype():
    with pytest.raises(
        ember.DTypeError, match="mean: .*Optional dtype must be a floating point dtype, got int64"
    ):
        ember.ones(3).mean(dtype=ember.int64)


@pytest.mark.parametrize("fn", ["var", "std", "norm"])
def test_float_only_reductions_reject_integers(fn):
    with pytest.raises(
        ember.DTypeError,
        match=rf"{fn}: dtype int32 is not supported \(expected "
        r"one of float16, float32, float64\); inputs: int32\[3\]",
    ):
        getattr(ember, fn)(ember.ones(3, dtype=ember.int32))


@pytest.mark.parametrize("fn", ["argmax", "argmin"])
def test_argmax_rejects_bool_and_tuple_dims(fn):
    with pytest.raises(ember.DTypeError, match=f"{fn}: bool input is not supported"):
        getattr(ember, fn)(ember.ones(3, dtype=ember.bool))
    with pytest.raises(ember.DTypeError, match=rf"{fn}: dim must be an int or None, got \(0, 1\)"):
        getattr(ember, fn)(ember.ones(2, 3), (0, 1))


def test_var_rejects_unbiased_with_correction():
    with pytest.raises(ember.DTypeError, match="var: pass either unbiased or correction"):
        ember.ones(3).var(0, unbiased=False, correction=1)


def test_norm_unsupported_orders():
    with pytest.raises(EmberValueError, match="norm: the nuclear norm"):
        ember.ones(2, 3).norm("nuc")
    with pytest.raises(EmberValueError, match="norm: order 'abc' is not supported"):
        ember.ones(2, 3).norm("abc")
    with pytest.raises(
        ember.ShapeError,
        match=r"norm: the 'fro' norm takes at most 2 dims, "
        r"got dim=\(0, 1, 2\)",
    ):
        ember.ones(2, 3, 4).norm("fro", dim=(0, 1, 2))
    with pytest.raises(ember.DTypeError, match="norm: dtype should be a floating point dtype"):
        ember.ones(2).norm(dtype=ember.int32)


def test_dim_must_be_an_int():
    with pytest.raises(ember.DTypeError, match=r"cumsum: dim must be an int, got float 1.5"):
        ember.ones(2, 3).cumsum(1.5)
