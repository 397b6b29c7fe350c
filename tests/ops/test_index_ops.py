"""gather, scatter, scatter_add, index_select, masked_fill, masked_select, take, index_add,
index_fill, index_put (and their in-place forms) against PyTorch."""

import warnings

import numpy as np
import pytest
import torch

import ember
from ember.errors import EmberValueError
from ember.testing.gradcheck import gradcheck, gradgradcheck
from ember.testing.optest import OpCase, params, run_case

FLOATS = ("float16", "float32", "float64")
ALL = FLOATS + ("int32", "int64")


class D:
    """An input of the case dtype with this shape (``scale`` for 0-dim values)."""

    def __init__(self, *shape):
        self.shape = shape


def _data(rng, dtype, shape):
    if np.dtype(dtype).kind == "f":
        return rng.uniform(-2, 2, shape).astype(dtype)
    return rng.integers(-5, 6, shape).astype(dtype)


def case(name, f, *specs, dtypes=ALL, **kw):
    """f(*inputs) runs on ember and on torch tensors alike (Tensor methods share names)."""

    def make(rng, dtype, shapes):
        return [_data(rng, dtype, s.shape) if isinstance(s, D) else np.array(s) for s in specs]

    return OpCase(name, f, f, make=make, shapes=[()], dtypes=dtypes, **kw)


def perm_rows(n, k, cols, seed=0):
    """A (k, cols) index whose columns hold distinct values in [0, n) (scatter without ties)."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n)[:k] for _ in range(cols)], axis=1)


I23 = [[0, 2, 2, 1], [1, 0, 0, 0]]  # repeats: gradients must accumulate

GATHER = [
    case("gather0", lambda x, i: x.gather(0, i), D(3, 4), I23),
    case("gather1_wide", lambda x, i: x.gather(1, i), D(3, 4), [[3, 3, 0, 1, 2, 0]] * 2),
    case("gather_neg_dim", lambda x, i: x.gather(-1, i), D(2, 3, 4), np.ones((2, 2, 5), int)),
    case("gather_small", lambda x, i: torch_or_ember(x).gather(x, 0, i), D(3, 4), [[2, 0]]),
    case("gather_0d", lambda x, i: x.gather(0, i), D(), [0, 0]),
    case("gather_1d_0d_index", lambda x, i: x.gather(0, i), D(5), 3),
    case("gather_empty", lambda x, i: x.gather(1, i), D(3, 4), np.zeros((3, 0), int)),
    case("gather_int32", lambda x, i: x.gather(0, i), D(3, 4), np.array(I23, np.int32)),
]

SCATTER = [
    case("scatter0", lambda x, i, s: x.scatter(0, i, s), D(4, 3), perm_rows(4, 2, 3), D(2, 3)),
    case("scatter1", lambda x, i, s: x.scatter(1, i, s), D(2, 5), perm_rows(5, 3, 2).T, D(2, 3)),
    case("scatter_value", lambda x, i: x.scatter(1, i, 2.5), D(3, 4), [[0, 3], [1, 1], [2, 0]]),
    case("scatter_value_kw", lambda x, i: x.scatter(0, i, value=-1), D(3, 4), [[2, 0, 1, 1]]),
    case(
        "scatter_",
        lambda x, i, s: x.clone().scatter_(0, i, s),
        D(4, 3),
        perm_rows(4, 3, 3),
        D(3, 3),
    ),
    case("scatter_add0", lambda x, i, s: x.scatter_add(0, i, s), D(3, 4), I23, D(2, 4)),
    # PyTorch's backward fails when src is larger than index: see the padded-gradient test
    case(
        "scatter_add_big_src",
        lambda x, i, s: x.scatter_add(1, i, s),
        D(3, 4),
        I23,
        D(3, 5),
        grad=False,
    ),
    case(
        "scatter_add_3d",
        lambda x, i, s: x.scatter_add(-2, i, s),
        D(2, 3, 2),
        np.zeros((2, 4, 1), int),
        D(2, 4, 1),
    ),
    case("scatter_add_", lambda x, i, s: x.clone().scatter_add_(0, i, s), D(3, 4), I23, D(2, 4)),
    case(
        "scatter_add_int32",
        lambda x, i, s: x.scatter_add(0, i, s),
        D(3, 4),
        np.array(I23, np.int32),
        D(2, 4),
    ),
    case("scatter_add_0d", lambda x, i, s: x.scatter_add(0, i, s), D(), 0, D()),
]

SELECT = [
    case("index_select0", lambda x, i: x.index_select(0, i), D(3, 4), [2, 0, 2]),
    case(
        "index_select_neg_dim",
        lambda x, i: x.index_select(-1, i),
        D(2, 3, 4),
        np.array([3, 3, 1, 0], np.int32),
    ),
    case("index_select_0d_index", lambda x, i: x.index_select(1, i), D(3, 4), 1),
    case("index_select_empty", lambda x, i: x.index_select(0, i), D(3, 4), np.zeros(0, int)),
    case("index_select_0d_input", lambda x, i: x.index_select(0, i), D(), [0]),
    case("take", lambda x, i: x.take(i), D(3, 4), [[0, -1, 5], [5, 11, -12]]),
    case("take_0d", lambda x, i: x.take(i), D(), [0, 0, -1]),
]

MASKS = [
    case("masked_fill", lambda x, m: x.masked_fill(m, 2.5), D(3, 4), [True, False, True, True]),
    case(
        "masked_fill_int_value",
        lambda x, m: x.masked_fill(m, -3),
        D(3, 4),
        [[True], [False], [True]],
    ),
    case(
        "masked_fill_broadcast_out",
        lambda x, m: x.masked_fill(m, 1.0),
        D(4),
        [[True, False, False, True], [False] * 4],
    ),
    case(
        "masked_fill_tensor_value",
        lambda x, m, v: x.masked_fill(m, v),
        D(2, 3),
        [[True, False, True], [False, False, True]],
        D(),
    ),
    case("masked_fill_", lambda x, m: x.clone().masked_fill_(m, 0.5), D(3, 4), [True] * 4),
    case("masked_fill_0d", lambda x, m: x.masked_fill(m, 0.0), D(), True),
    case(
        "masked_select",
        lambda x, m: x.masked_select(m),
        D(3, 4),
        np.arange(12).reshape(3, 4) % 5 < 2,
    ),
    case("masked_select_broadcast", lambda x, m: x.masked_select(m), D(4), [[True], [False]] * 2),
    case("masked_select_0d", lambda x, m: x.masked_select(m), D(), True),
]

PUTS = [
    case("index_add", lambda x, i, s: x.index_add(0, i, s), D(3, 4), [0, 2, 0], D(3, 4)),
    case(
        "index_add_alpha",
        lambda x, i, s: x.index_add(1, i, s, alpha=2),
        D(2, 3),
        np.array([1, 1], np.int32),
        D(2, 2),
    ),
    case(
        "index_add_", lambda x, i, s: x.clone().index_add_(-1, i, s), D(2, 3), [2, 0, 2, 2], D(2, 4)
    ),
    case("index_fill", lambda x, i: x.index_fill(1, i, -1.5), D(3, 4), [0, -1]),
    case("index_fill_tensor_value", lambda x, i, v: x.index_fill(0, i, v), D(3, 4), [2], D()),
    case("index_fill_", lambda x, i: x.clone().index_fill_(0, i, 2), D(3, 4), [1, 1]),
    case("index_put", lambda x, i, v: x.index_put((i,), v), D(4, 3), [3, -4], D(2, 3)),
    case("index_put_pair", lambda x, i, j, v: x.index_put((i, j), v), D(3, 4), [0, 2], [1, 3], D()),
    case(
        "index_put_acc",
        lambda x, i, v: x.index_put((i,), v, accumulate=True),
        D(4, 3),
        [1, 1, 0, 1],
        D(3),
    ),
    case(
        "index_put_acc_pair",
        lambda x, i, j, v: x.index_put((i, j), v, True),
        D(3, 4),
        [[0, 2], [0, 0]],
        [1, 1],
        D(2, 2),
    ),
    case(
        "index_put_mask",
        lambda x, m, v: x.index_put((m,), v),
        D(3, 2),
        [True, False, True],
        D(1, 2),
    ),
    case(
        "index_put_",
        lambda x, i, v: x.clone().index_put_((i,), v, accumulate=True),
        D(4, 3),
        [1, 1],
        D(2, 3),
    ),
]


def torch_or_ember(x):
    return torch if isinstance(x, torch.Tensor) else ember


@pytest.mark.parametrize("case, dtype", params(GATHER + SCATTER + SELECT + MASKS + PUTS))
def test_op(case, dtype):
    run_case(case, dtype)


@pytest.mark.parametrize("dtype", ALL)
def test_scatter_multiply_forward(dtype):
    def f(x, i, s):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch deprecates reduce= for scatter
            return x.scatter(0, i, s, reduce="multiply")

    run_case(case("scatter_mul", f, D(3, 4), I23, D(2, 4), grad=False), dtype)
    run_case(
        case(
            "scatter_mul_value",
            lambda x, i: x.scatter(1, i, 2.0, reduce="multiply"),
            D(3, 4),
            [[0, 0], [3, 1], [2, 2]],
            grad=False,
        ),
        dtype,
    )


def test_scatter_reduce_add_matches_scatter_add_gradients():
    rng = np.random.default_rng(0)
    x, s = rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    xe, se = ember.tensor(x, requires_grad=True), ember.tensor(s, requires_grad=True)
    xt, st = torch.tensor(x, requires_grad=True), torch.tensor(s, requires_grad=True)
    out = xe.scatter(0, ember.tensor(I23), se, reduce="add")
    ref = xt.scatter_add(0, torch.tensor(I23), st)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy())
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy())
    np.testing.assert_allclose(se.grad.numpy(), st.grad.numpy())


@pytest.mark.parametrize("add", [False, True])
def test_scatter_src_larger_than_index_gradient_is_padded(add):
    # PyTorch's own backward fails here; the gradient is the gathered one, zero elsewhere.
    rng = np.random.default_rng(1)
    x, s, g = rng.standard_normal((3, 4)), rng.standard_normal((3, 5)), rng.standard_normal((3, 4))
    idx = np.array([[2, 0], [1, 3]])

    def f(a, b):
        if add:
            return ember.scatter_add(a, 1, ember.tensor(idx), b)
        return ember.scatter(a, 1, ember.tensor(idx), b)

    xe, se = ember.tensor(x, requires_grad=True), ember.tensor(s, requires_grad=True)
    f(xe, se).backward(ember.tensor(g))
    expect = np.zeros_like(s)
    expect[:2, :2] = np.take_along_axis(g[:2], idx, axis=1)
    np.testing.assert_allclose(se.grad.numpy(), expect)
    gx = g.copy()
    if not add:
        np.put_along_axis(gx[:2], idx, 0.0, axis=1)
    np.testing.assert_allclose(xe.grad.numpy(), gx)
    gradcheck(f, [xe, se])
    gradgradcheck(f, [xe, se])


def test_scatter_multiply_has_no_gradient():
    x = ember.ones(3, requires_grad=True)
    y = x.scatter(0, ember.tensor([0]), 2.0, reduce="multiply")
    with pytest.raises(ember.AutogradError, match="scatter: the derivative for reduce='multiply'"):
        y.sum().backward()


def test_gather_index_is_private_to_the_graph():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    i = ember.tensor([0, 0])
    y = x.gather(0, i)
    i[1] = 2  # in place, after the forward
    y.backward(ember.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [11.0, 0.0, 0.0]
    z = ember.zeros(3, requires_grad=True)
    j = ember.tensor([1, 1])
    w = z[j]
    j[0] = 0
    w.backward(ember.tensor([1.0, 2.0]))
    assert z.grad.tolist() == [0.0, 3.0, 0.0]
    z.grad = None
    w = z.index_select(0, j)  # j is [0, 1] now
    j[0] = 2
    w.backward(ember.tensor([1.0, 2.0]))
    assert z.grad.tolist() == [1.0, 2.0, 0.0]
    m = ember.tensor([True, False, False])
    z.grad = None
    w = z.masked_fill(m, 5.0)
    m[1] = True
    w.backward(ember.ones(3))
    assert z.grad.tolist() == [0.0, 1.0, 1.0]


# ---- errors ------------------------------------------------------------------------------------

X = ember.zeros(3, 4)
IDX = ember.tensor([[0, 1]])

ERRORS = [
    (
        lambda: X.gather(0, IDX.float()),
        ember.DTypeError,
        "gather: expected dtype int32 or int64 for index, got float32",
    ),
    (lambda: X.gather(0, [[0]]), ember.DTypeError, "gather: index must be a tensor, got list"),
    (
        lambda: X.gather(0, -IDX),
        ember.EmberIndexError,
        "gather: index -1 is out of bounds for dim 0 with size 3",
    ),
    (
        lambda: X.gather(1, IDX + 4),
        ember.EmberIndexError,
        "gather: index 4 is out of bounds for dim 1 with size 4",
    ),
    (
        lambda: X.gather(0, ember.zeros(1, dtype=ember.int64)),
        ember.ShapeError,
        r"gather: index \(1,\) must have the same number of dimensions as input \(3, 4\)",
    ),
    (
        lambda: X.gather(1, ember.zeros(4, 1, dtype=ember.int64)),
        ember.ShapeError,
        r"gather: size does not match at dimension 0: expected index \(4, 1\) to be no larger than "
        r"input \(3, 4\) apart from dimension 1",
    ),
    (
        lambda: X.gather(2, IDX),
        ember.ShapeError,
        "gather: dim 2 is out of range for a tensor of 2 dimensions",
    ),
    (
        lambda: X.scatter(0, IDX, ember.ones(1, 2, dtype=ember.float64)),
        ember.DTypeError,
        "scatter: expected src dtype float64 to equal input dtype float32",
    ),
    (
        lambda: X.scatter(0, IDX, ember.ones(1, 1)),
        ember.ShapeError,
        r"scatter: expected index \(1, 2\) to be no larger than src \(1, 1\)",
    ),
    (
        lambda: X.scatter(0, IDX + 3, 1.0),
        ember.EmberIndexError,
        "scatter: index 3 is out of bounds for dim 0 with size 3",
    ),
    (
        lambda: X.scatter(0, IDX, 1.0, reduce="mean"),
        EmberValueError,
        "scatter: reduce must be None, 'add' or 'multiply', got 'mean'",
    ),
    (lambda: X.scatter(0, IDX), EmberValueError, "scatter: expected a src tensor or a value"),
    (lambda: X.scatter(0, IDX, "a"), ember.DTypeError, "scatter: src must be a number or a tensor"),
    (
        lambda: X.scatter_add(0, -IDX, ember.ones(1, 2)),
        ember.EmberIndexError,
        "scatter_add: index -1 is out of bounds for dim 0 with size 3",
    ),
    (
        lambda: X.scatter_add(0, IDX, ember.ones(1, 2, dtype=ember.int64)),
        ember.DTypeError,
        "scatter_add: expected src dtype int64 to equal input dtype float32",
    ),
    (
        lambda: X.scatter_add(0, IDX, 1.0),
        ember.DTypeError,
        "scatter_add: src must be a tensor, got float",
    ),
    (
        lambda: X.int().scatter(0, IDX, 2**40),
        ember.DTypeError,
        "scatter: value 1099511627776 cannot be converted to int32 without overflow",
    ),
    (
        lambda: X.int().masked_fill(ember.tensor([True]), -(2**40)),
        ember.DTypeError,
        "masked_fill: value -1099511627776 cannot be converted to int32 without overflow",
    ),
    (
        lambda: X.index_select(0, IDX),
        ember.EmberIndexError,
        r"index_select: index is supposed to be a vector, got shape \(1, 2\)",
    ),
    (
        lambda: X.index_select(0, ember.tensor([-1])),
        ember.EmberIndexError,
        "index_select: index -1 is out of bounds for dim 0 with size 3",
    ),
    (
        lambda: X.index_select(1, ember.tensor([0.0])),
        ember.DTypeError,
        "index_select: expected dtype int32 or int64 for index, got float32",
    ),
    (
        lambda: ember.tensor(1.0).index_select(0, ember.tensor([0, 0])),
        ember.EmberIndexError,
        "index_select: index to a 0-dim tensor can have only 1 value, got 2",
    ),
    (
        lambda: X.masked_fill(ember.ones(4, dtype=ember.int64), 1.0),
        ember.DTypeError,
        "masked_fill: expected a bool tensor for mask, got int64",
    ),
    (
        lambda: X.masked_fill(ember.tensor([True]), ember.ones(1)),
        ember.ShapeError,
        r"masked_fill: only a 0-dimensional value tensor is supported, got shape \(1,\)",
    ),
    (
        lambda: X.masked_fill(ember.tensor([True, False]), 0.0),
        ember.ShapeError,
        r"masked_fill: shapes \(3, 4\) and \(2,\) cannot be broadcast",
    ),
    (
        lambda: X.masked_fill(ember.tensor([True]), [1.0]),
        ember.DTypeError,
        "masked_fill: value must be a number or a tensor, got list",
    ),
    (
        lambda: ember.zeros(4).masked_fill_(ember.ones(3, 4).bool(), 1.0),
        ember.ShapeError,
        r"masked_fill_: output with shape \(4,\) doesn't match the broadcast shape \(3, 4\)",
    ),
    (
        lambda: X.masked_select(ember.ones(4)),
        ember.DTypeError,
        "masked_select: expected a bool tensor for mask, got float32",
    ),
    (
        lambda: X.masked_select(ember.ones(2, 1, 3).bool()),
        ember.ShapeError,
        r"masked_select: shapes \(3, 4\) and \(2, 1, 3\) cannot be broadcast",
    ),
    (
        lambda: X.take(ember.tensor([1], dtype=ember.int32)),
        ember.DTypeError,
        "take: expected dtype int64 for index, got int32",
    ),
    (
        lambda: X.take(ember.tensor([12])),
        ember.EmberIndexError,
        "take: index 12 is out of range for a tensor of 12 elements",
    ),
    (
        lambda: X.take(ember.tensor([-13])),
        ember.EmberIndexError,
        "take: index -13 is out of range for a tensor of 12 elements",
    ),
    (
        lambda: X.index_add(0, ember.tensor([0]), ember.ones(1, 4, dtype=ember.float64)),
        ember.DTypeError,
        r"index_add: input \(float32\) and source \(float64\) must have the same",
    ),
    (
        lambda: X.index_add(0, ember.tensor([0, 0]), ember.ones(3, 4)),
        ember.ShapeError,
        r"index_add: source shape \(3, 4\) must match input shape \(3, 4\) except along dim 0, "
        r"where it must be 2",
    ),
    (
        lambda: X.index_add(1, ember.tensor([-1]), ember.ones(3, 1)),
        ember.EmberIndexError,
        "index_add: index -1 is out of bounds for dim 1 with size 4",
    ),
    (
        lambda: X.index_add(1, IDX, ember.ones(3, 1)),
        ember.EmberIndexError,
        r"index_add: index is supposed to be a vector, got shape \(1, 2\)",
    ),
    (
        lambda: ember.zeros(2, dtype=ember.int64).index_add(
            0, ember.tensor([0]), ember.ones(1).long(), alpha=0.5
        ),
        ember.DTypeError,
        "index_add: alpha must not be a floating point number for an int64 input, got 0.5",
    ),
    (
        lambda: X.index_fill(0, ember.tensor([0], dtype=ember.int32), 1.0),
        ember.DTypeError,
        "index_fill: expected dtype int64 for index, got int32",
    ),
    (
        lambda: X.index_fill(1, ember.tensor([-5]), 1.0),
        ember.EmberIndexError,
        "index_fill: index -5 is out of bounds for dim 1 with size 4",
    ),
    (
        lambda: X.index_fill(1, ember.tensor([0]), ember.ones(2)),
        ember.ShapeError,
        r"index_fill: only a 0-dimensional value tensor is supported, got shape \(2,\)",
    ),
    (
        lambda: X.index_put((ember.tensor([0]),), ember.ones(4, dtype=ember.float64)),
        ember.DTypeError,
        "index_put: values dtype float64 must match the input dtype float32",
    ),
    (
        lambda: X.index_put((ember.tensor([0]),), 1.0),
        ember.DTypeError,
        "index_put: values must be a tensor, got float",
    ),
    (
        lambda: X.index_put((ember.tensor([0, 1]),), ember.ones(3)),
        ember.ShapeError,
        r"index_put: shape mismatch: value tensor of shape \(3,\) cannot be broadcast to indexing "
        r"result of shape \(2, 4\)",
    ),
    (
        lambda: X.index_put((ember.tensor([3]),), ember.ones(4)),
        ember.EmberIndexError,
        "index_put: index 3 is out of bounds for dim 0 with size 3",
    ),
]


@pytest.mark.parametrize("fn, err, msg", ERRORS, ids=[m.split(":")[0] for _, _, m in ERRORS])
def test_errors(fn, err, msg):
    with pytest.raises(err, match=msg):
        fn()
