"""softmax, log_softmax and softmin against PyTorch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.native
import ember.nn.functional as F
from ember.testing.optest import OpCase, params, run_case


@pytest.fixture(autouse=True, params=[True, False], ids=["native", "numpy"])
def native(request):
    """Every case runs with ember's C row kernels and with its NumPy kernels alone."""
    with ember.native.use(request.param):
        yield request.param


# (shape, dim): 0-dim, size-0 dims (reduced and not), negative dims, every dim of a 3-d input
SHAPE_DIMS = [
    ((), 0),
    ((), -1),
    ((0,), 0),
    ((5,), -1),
    ((3, 4), 0),
    ((3, 4), 1),
    ((0, 3), 1),
    ((3, 0), 1),
    ((2, 3, 4), 0),
    ((2, 3, 4), -2),
    ((2, 3, 4), 2),
]

FUNCS = [
    ("softmax", F.softmax, TF.softmax),
    ("log_softmax", F.log_softmax, TF.log_softmax),
    ("softmin", F.softmin, TF.softmin),
]
# the same kernels behind other names: a couple of shapes each
ALIASES = [
    ("ember.softmax", ember.softmax, torch.softmax),
    ("ember.log_softmax", ember.log_softmax, torch.log_softmax),
    ("method_softmax", lambda x, d: x.softmax(d), lambda x, d: x.softmax(d)),
    ("method_log_softmax", lambda x, d: x.log_softmax(d), lambda x, d: x.log_softmax(d)),
]


def _case(name, fn, ref, shape, dim):
    return OpCase(
        f"{name}-{shape}-dim{dim}",
        lambda x, fn=fn, dim=dim: fn(x, dim),
        lambda x, ref=ref, dim=dim: ref(x, dim),
        shapes=[(shape,)],
        domain=(-4.0, 4.0),
    )


CASES = [_case(n, f, r, s, d) for n, f, r in FUNCS for s, d in SHAPE_DIMS]
CASES += [_case(n, f, r, s, d) for n, f, r in ALIASES for s, d in [((), 0), ((3, 4), -1)]]
CASES += [
    OpCase(
        "softmax_dtype_arg",
        lambda x: F.softmax(x, 1, dtype=ember.float64),
        lambda x: TF.softmax(x, 1, dtype=torch.float64),
        shapes=[((3, 4),)],
        dtypes=("float32",),
    ),
    OpCase(
        "log_softmax_dtype_positional",
        lambda x: ember.log_softmax(x, 0, ember.float64),
        lambda x: torch.log_softmax(x, 0, torch.float64),
        shapes=[((3, 4),)],
        dtypes=("float16", "float32"),
    ),
    OpCase(
        "softmax_large_logits",
        lambda x: F.softmax(x * 1000.0, -1),
        lambda x: TF.softmax(x * 1000.0, -1),
        shapes=[((4, 6),)],
        dtypes=("float32", "float64"),  # float16 gradients of 1000x-scaled logits are noise
    ),
    OpCase(
        "log_softmax_large_logits",
        lambda x: F.log_softmax(x * 1000.0, -1),
        lambda x: TF.log_softmax(x * 1000.0, -1),
        shapes=[((4, 6),)],
        dtypes=("float32", "float64"),
        tol={"float32": (1e-5, 1e-3)},
    ),
    OpCase(
        "log_softmax_then_softmax_chain",
        lambda x: F.softmax(F.log_softmax(x, 1) * 2.0, 0),
        lambda x: TF.softmax(TF.log_softmax(x, 1) * 2.0, 0),
        shapes=[((3, 5),)],
    ),
]


@pytest.mark.parametrize("case, dtype", params(CASES))
def test_op(case, dtype):
    run_case(case, dtype)


@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_implicit_dim_matches_torch_and_warns(name, ndim):
    x = np.random.default_rng(ndim).standard_normal((2,) * ndim)
    with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name}"):
        got = getattr(F, name)(ember.tensor(x))
    with pytest.warns(UserWarning):
        expected = getattr(TF, name)(torch.tensor(x))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12)


def test_all_minus_inf_row_is_nan_like_torch():
    x = np.array([[-np.inf, -np.inf], [0.0, -np.inf]])
    got = F.softmax(ember.tensor(x), 1).numpy()
    expected = TF.softmax(torch.tensor(x), 1).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got[1], expected[1])


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax, ember.softmax, ember.log_softmax])
def test_dim_out_of_range(fn):
    name = "log_softmax" if "log" in fn.__name__ else "softmax"
    with pytest.raises(ember.ShapeError, match=f"{name}: dim 2 is out of range .* 2 dim"):
        fn(ember.ones(2, 3), 2)


def test_integer_input_rejected():
    with pytest.raises(ember.DTypeError, match="softmax: dtype int64 is not supported"):
        F.softmax(ember.tensor([1, 2]), 0)
    with pytest.raises(ember.DTypeError, match="log_softmax: dtype int32 is not supported"):
        ember.tensor([1, 2], dtype=ember.int32).log_softmax(0)


def test_integer_input_with_dtype_is_cast_first():
    got = F.softmax(ember.tensor([1, 2]), 0, dtype=ember.float32)
    expected = TF.softmax(torch.tensor([1, 2]), 0, dtype=torch.float32)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)
    assert got.dtype == ember.float32


def test_softmax_double_backward_matches_torch():
    x = np.random.default_rng(3).standard_normal((3, 4))
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    (ge,) = ember.autograd.grad((F.softmax(ex, 1) * ex).sum(), ex, create_graph=True)
    (gt,) = torch.autograd.grad((TF.softmax(tx, 1) * tx).sum(), tx, create_graph=True)
    (hx,) = ember.autograd.grad((ge * ge).sum(), ex)
    (ht,) = torch.autograd.grad((gt * gt).sum(), tx)
    np.testing.assert_allclose(hx.numpy(), ht.numpy(), rtol=1e-10, atol=1e-12)
