"""Random creation: shapes, dtypes and ranges as in PyTorch; reproducibility under seeds.

ember draws from NumPy's PCG64, so values differ from PyTorch's; shapes, dtypes, ranges and
errors are compared with PyTorch, and distributions with their closed forms.
"""

import numpy as np
import pytest
import torch

import ember
from ember.errors import EmberValueError


def meta(t):
    return tuple(t.shape), str(t.dtype).replace("torch.", "").replace("ember.", "")


CALLS = [
    ("rand", (2, 3), {}),
    ("rand", ((4,),), {"dtype": "float64"}),
    ("rand", ((),), {}),
    ("rand", (0, 2), {"dtype": "float16"}),
    ("randn", (3,), {}),
    ("randn", ([2, 2],), {"dtype": "float16"}),
    ("randn", (1, 2, 3), {"dtype": "float64"}),
    ("randint", (5, (3,)), {}),
    ("randint", (2, 5, (2, 2)), {}),
    ("randint", (5,), {"size": (4,)}),
    ("randint", (-3, 3, (6,)), {"dtype": "int32"}),
    ("randint", (0, 4, (3,)), {"dtype": "float32"}),
    ("randint", (7, ()), {}),
    ("randperm", (5,), {}),
    ("randperm", (0,), {}),
    ("randperm", (4,), {"dtype": "int32"}),
    ("randperm", (3,), {"dtype": "float64"}),
]


def _kwargs(lib, kwargs):
    return {k: getattr(lib, v) if k == "dtype" else v for k, v in kwargs.items()}


@pytest.mark.parametrize("name, args, kwargs", CALLS, ids=[f"{c[0]}{c[1]}{c[2]}" for c in CALLS])
def test_shapes_and_dtypes_match_torch(name, args, kwargs):
    got = getattr(ember, name)(*args, **_kwargs(ember, kwargs))
    expected = getattr(torch, name)(*args, **_kwargs(torch, kwargs))
    assert meta(got) == meta(expected)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_rand_is_uniform_on_half_open_unit_interval(dtype):
    ember.manual_seed(0)
    x = ember.rand(200_000, dtype=getattr(ember, dtype)).numpy().astype(np.float64)
    assert x.min() >= 0.0 and x.max() < 1.0
    assert abs(x.mean() - 0.5) < 0.005  # sd of the mean: 0.29 / sqrt(2e5) = 0.0006
    assert abs(x.var() - 1 / 12) < 0.002


def test_randn_is_standard_normal():
    ember.manual_seed(1)
    x = ember.randn(200_000, dtype=ember.float64).numpy()
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.01
    assert abs(np.mean(np.abs(x) < 1) - 0.6827) < 0.005


def test_randint_covers_its_range_exactly():
    ember.manual_seed(2)
    x = ember.randint(-2, 3, (5000,))
    assert sorted(set(x.tolist())) == [-2, -1, 0, 1, 2]
    assert sorted(ember.randperm(50).tolist()) == list(range(50))


@pytest.mark.parametrize(
    "fn",
    [
        lambda **k: ember.rand(5, **k),
        lambda **k: ember.randn(2, 3, **k),
        lambda **k: ember.randint(0, 100, (6,), **k),
        lambda **k: ember.randperm(10, **k),
    ],
)
def test_manual_seed_and_generators_reproduce(fn):
    ember.manual_seed(123)
    a = fn().tolist()
    b = fn().tolist()
    ember.manual_seed(123)
    assert fn().tolist() == a and fn().tolist() == b
    assert a != b
    g1 = ember.Generator().manual_seed(7)
    g2 = ember.Generator()
    g2.manual_seed(7)
    ember.manual_seed(123)
    first = fn(generator=g1).tolist()
    assert fn().tolist() == a  # an explicit generator leaves the default one alone
    assert fn(generator=g2).tolist() == first


def test_rng_state_roundtrip_and_initial_seed():
    ember.manual_seed(5)
    assert ember.initial_seed() == 5
    state = ember.get_rng_state()
    a = ember.rand(4).tolist()
    ember.set_rng_state(state)
    assert ember.rand(4).tolist() == a
    g = ember.Generator().manual_seed(9)
    assert g.initial_seed() == 9
    st = g.get_state()
    x = ember.randn(3, generator=g).tolist()
    g.set_state(st)
    assert ember.randn(3, generator=g).tolist() == x


def test_like_variants():
    src = ember.zeros(2, 3, dtype=ember.float64)
    for fn, tfn in ((ember.rand_like, torch.rand_like), (ember.randn_like, torch.randn_like)):
        assert meta(fn(src)) == meta(tfn(torch.zeros(2, 3, dtype=torch.float64)))
        assert meta(fn(ember.zeros(()))) == meta(tfn(torch.zeros(())))
    assert meta(ember.randint_like(src, 5)) == meta(
        torch.randint_like(torch.zeros(2, 3, dtype=torch.float64), 5)
    )
    assert meta(ember.randint_like(src, 2, 5)) == meta(
        torch.randint_like(torch.zeros(2, 3, dtype=torch.float64), 2, 5)
    )


def test_requires_grad():
    x = ember.rand(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    assert ember.randn(3, requires_grad=True).requires_grad


@pytest.mark.parametrize("name", ["rand", "randn"])
def test_float_only(name):
    with pytest.raises(ember.DTypeError, match=f"{name}: expected a floating dtype, got int64"):
        getattr(ember, name)(2, dtype=ember.int64)
    with pytest.raises(NotImplementedError):
        getattr(torch, name)(2, dtype=torch.int64)
    with pytest.raises(ember.DTypeError, match=f"{name}: expected a floating dtype, got int32"):
        getattr(ember, name + "_like")(ember.zeros(2, dtype=ember.int32))


def test_random_errors():
    with pytest.raises(EmberValueError, match="randint: expected low < high, got low=5, high=5"):
        ember.randint(5, 5, (3,))
    with pytest.raises(TypeError, match=r"randint\(\) missing required argument 'size'"):
        ember.randint(5)
    with pytest.raises(ember.ShapeError, match="randperm: n must be non-negative, got -1"):
        ember.randperm(-1)
    with pytest.raises(ember.ShapeError, match=r"randint: negative dimension in size \(-2,\)"):
        ember.randint(3, (-2,))


def test_generator_device():
    g = ember.Generator("cpu")
    assert g.manual_seed(1) is g
    with pytest.raises(
        EmberValueError, match="Generator: only the 'cpu' device exists, got 'cuda'"
    ):
        ember.Generator("cuda")
