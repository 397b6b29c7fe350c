"""Linear algebra (matmul family, dot/outer, addmm/baddbmm, einsum) against PyTorch."""

import numpy as np
import pytest
import torch

import ember
from ember.testing.optest import OpCase, params, run_case

FLOATS = ("float16", "float32", "float64")
NUMERIC = FLOATS + ("int32", "int64")


def einsum_case(name, eq, shapes, dtypes=FLOATS, **kw):
    return OpCase(
        f"einsum_{name}",
        lambda *xs: ember.einsum(eq, *xs),
        lambda *xs: torch.einsum(eq, *xs),
        shapes=[shapes],
        dtypes=dtypes,
        **kw,
    )


EINSUM_CASES = [
    einsum_case("matmul", "ij,jk->ik", ((3, 4), (4, 5)), dtypes=NUMERIC),
    einsum_case("matmul_implicit", "ij,jk", ((3, 4), (4, 2))),
    einsum_case("bmm", "bij,bjk->bik", ((2, 3, 4), (2, 4, 5))),
    einsum_case("attention", "bhqd,bhkd->bhqk", ((2, 2, 3, 4), (2, 2, 5, 4))),
    einsum_case("transpose", "ij->ji", ((3, 4),)),
    einsum_case("implicit_order", "ba", ((3, 4),)),
    einsum_case("sum_all", "ij->", ((3, 4),)),
    einsum_case("sum_rows", "ij->i", ((3, 4),)),
    einsum_case("trace", "ii", ((4, 4),), dtypes=NUMERIC),
    einsum_case("diagonal", "ii->i", ((4, 4),)),
    einsum_case("batch_diagonal", "bii->bi", ((2, 3, 3),)),
    einsum_case("repeat3", "iii->i", ((3, 3, 3),)),
    einsum_case("diag_times", "ii,i->i", ((3, 3), (3,))),
    einsum_case("outer", "i,j->ij", ((3,), (4,))),
    einsum_case("dot", "i,i->", ((5,), (5,))),
    einsum_case("hadamard", "ij,ij->ij", ((3, 4), (3, 4))),
    einsum_case("broadcast_one", "ij,ij->ij", ((3, 1), (3, 4))),
    einsum_case("broadcast_contract", "bij,bjk->bik", ((1, 3, 4), (2, 4, 5))),
    einsum_case("ellipsis", "...ij,...jk->...ik", ((2, 3, 4), (2, 4, 5))),
    einsum_case("ellipsis_broadcast", "...ij,...jk", ((2, 1, 3, 4), (5, 4, 2))),
    einsum_case("ellipsis_sum", "...ij->i", ((2, 3, 4),)),
    einsum_case("ellipsis_middle", "i...j->j...i", ((2, 3, 4, 5),)),
    einsum_case("three", "ij,jk,kl->il", ((3, 4), (4, 5), (5, 2))),
    einsum_case("bilinear", "bi,kij,bj->bk", ((4, 2), (3, 2, 3), (4, 3))),
    einsum_case("sum_unshared", "ij,k->i", ((3, 4), (5,))),
    einsum_case("scalar", ",ij->ij", ((), (2, 3))),
    einsum_case("upper", "Ab,bA->", ((2, 3), (3, 2))),
    einsum_case("empty", "ij,jk->ik", ((0, 3), (3, 4))),
    einsum_case("empty_contract", "ij,jk->ik", ((2, 0), (0, 4))),
]


def _addmm_ref(lib, beta, alpha):
    def fn(i, a, b):
        return lib.addmm(i, a, b, beta=beta, alpha=alpha)

    return fn


CASES = EINSUM_CASES + [
    OpCase(
        "bmm",
        ember.bmm,
        torch.bmm,
        shapes=[((2, 3, 4), (2, 4, 5)), ((1, 1, 1), (1, 1, 1)), ((0, 3, 4), (0, 4, 2))],
        dtypes=NUMERIC,
    ),
    OpCase("bmm_empty_inner", ember.bmm, torch.bmm, shapes=[((2, 3, 0), (2, 0, 4))]),
    OpCase("mm", ember.mm, torch.mm, shapes=[((3, 4), (4, 5))], dtypes=NUMERIC),
    OpCase("mv", ember.mv, torch.mv, shapes=[((3, 4), (4,))]),
    OpCase("dot", ember.dot, torch.dot, shapes=[((5,), (5,)), ((0,), (0,))], dtypes=NUMERIC),
    OpCase("inner", ember.inner, torch.inner, shapes=[((2, 3), (4, 3)), ((3,), (3,)), ((), (2,))]),
    OpCase("outer", ember.outer, torch.outer, shapes=[((3,), (4,)), ((0,), (2,))], dtypes=NUMERIC),
    OpCase(
        "addmm",
        ember.addmm,
        torch.addmm,
        shapes=[((4,), (3, 5), (5, 4)), ((3, 1), (3, 5), (5, 4)), ((3, 4), (3, 5), (5, 4))],
    ),
    OpCase(
        "addmm_scaled",
        _addmm_ref(ember, 0.5, 2.0),
        _addmm_ref(torch, 0.5, 2.0),
        shapes=[((4,), (3, 5), (5, 4))],
    ),
    OpCase(
        "addmm_beta0",
        _addmm_ref(ember, 0, 1.5),
        _addmm_ref(torch, 0, 1.5),
        shapes=[((3, 4), (3, 5), (5, 4))],
    ),
    OpCase(
        "baddbmm",
        lambda i, a, b: ember.baddbmm(i, a, b, beta=2.0, alpha=0.5),
        lambda i, a, b: torch.baddbmm(i, a, b, beta=2.0, alpha=0.5),
        shapes=[((4,), (2, 3, 5), (2, 5, 4)), ((2, 3, 4), (2, 3, 5), (2, 5, 4))],
    ),
]


@pytest.mark.parametrize("case, dtype", params(CASES))
def test_op(case, dtype):
    run_case(case, dtype)


def test_einsum_forms_agree():
    a, b = ember.randn(3, 4), ember.randn(4, 5)
    ref = torch.einsum("ij,jk->ik", torch.from_numpy(a.numpy()), torch.from_numpy(b.numpy()))
    for got in (
        ember.einsum("ij,jk->ik", [a, b]),
        ember.einsum(" i j , j k -> i k ", a, b),
        ember.einsum(a, [0, 1], b, [1, 2], [0, 2]),
        ember.einsum(a, [0, 1], b, [1, 2]),
    ):
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)


def test_einsum_sublist_ellipsis():
    x = ember.randn(2, 3, 4)
    got = ember.einsum(x, [Ellipsis, 0, 1], [1, Ellipsis])
    ref = torch.einsum(torch.from_numpy(x.numpy()), [Ellipsis, 0, 1], [1, Ellipsis])
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-6)


def test_einsum_output_owns_memory():
    x = ember.randn(3, 3)
    d = ember.einsum("ii->i", x)
    d.add_(1.0)
    assert float((x.diagonal() - ember.einsum("ii->i", x)).abs().sum()) == 0.0
    assert not np.shares_memory(d.numpy(), x.numpy())


def test_einsum_third_order_gradient():
    # d^3/dx^3 of sum(x_ii^3) = 6 on the diagonal: repeated-index VJPs compose
    x = ember.tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
    y = ember.einsum("ii,ii,ii->", x, x, x)
    (g,) = ember.autograd.grad(y, x, create_graph=True)
    (h,) = ember.autograd.grad(g.sum(), x, create_graph=True)
    (t,) = ember.autograd.grad(h.sum(), x)
    np.testing.assert_allclose(t.numpy(), 6 * np.eye(3))


EINSUM_ERRORS = [
    ("ij,jk", [(3, 4)], r"einsum: fewer operands were provided \(1\) than the equation"),
    ("ij", [(3, 4), (4, 5)], r"einsum: more operands were provided \(2\) than the equation"),
    (
        "ij",
        [(2, 3, 4)],
        r"einsum: the number of subscripts in the equation \(2\) does not match "
        r"the number of dimensions \(3\) for operand 0",
    ),
    ("ijkl...", [(2, 3, 4)], r"einsum: the number of subscripts in the equation \(4\) is more"),
    ("ij1", [(2, 3, 4)], r"einsum: invalid subscript '1' at index 2"),
    ("ij-k", [(2, 3)], r"einsum: invalid subscript '-' at index 2"),
    ("ijk->->", [(2, 3, 4)], r"einsum: the equation 'ijk->->' has more than one '->'"),
    ("ijk->l", [(2, 3, 4)], r"einsum: output subscript l does not appear in the equation"),
    ("ijk->ii", [(2, 3, 4)], r"einsum: output subscript i appears more than once"),
    ("i.j", [(2, 3)], r"einsum: operand 0 term 'i.j' .* stray '.'"),
    ("......", [(2, 3)], r"einsum: operand 0 term '......' .* more than one ellipsis"),
    (
        "ij,jk",
        [(3, 4), (5, 6)],
        r"einsum: subscript j has size 5 for operand 1 \(shape \(5, 6\)\) "
        r"which does not broadcast with previously seen size 4",
    ),
    (
        "ii->i",
        [(3, 4)],
        r"einsum: subscript i is repeated for operand 0 \(shape \(3, 4\)\) but "
        r"the sizes don't match, 3 != 4",
    ),
]


@pytest.mark.parametrize("eq, shapes, msg", EINSUM_ERRORS)
def test_einsum_errors(eq, shapes, msg):
    with pytest.raises(ember.ShapeError, match=msg):
        ember.einsum(eq, *[ember.ones(*s) for s in shapes])


def test_einsum_needs_operands():
    with pytest.raises(ember.ShapeError, match="einsum: must specify the equation string"):
        ember.einsum("ij")
    with pytest.raises(ember.ShapeError, match="einsum: must specify the equation string"):
        ember.einsum()


def test_einsum_dtype_mismatch():
    with pytest.raises(
        ember.DTypeError,
        match="einsum: expected all operands to have the same dtype, got float32, float64",
    ):
        ember.einsum("ij,jk", ember.ones(2, 3), ember.ones(3, 2, dtype=ember.float64))


def test_einsum_rejects_non_tensor():
    with pytest.raises(ember.DTypeError, match="einsum: operand 1 is a list, not a Tensor"):
        ember.einsum("i,i", ember.ones(2), [1.0, 2.0])


@pytest.mark.parametrize(
    "a, b, msg",
    [
        ((3, 4), (2, 4, 5), r"bmm: expected 3-D tensors, got shapes \(3, 4\) and \(2, 4, 5\)"),
        ((2, 3, 4), (3, 4, 5), r"bmm: shapes \(2, 3, 4\) and \(3, 4, 5\) do not match"),
        ((2, 3, 4), (2, 5, 5), r"bmm: shapes \(2, 3, 4\) and \(2, 5, 5\) do not match"),
    ],
)
def test_bmm_errors(a, b, msg):
    with pytest.raises(ember.ShapeError, match=msg):
        ember.bmm(ember.ones(*a), ember.ones(*b))


def test_bmm_dtype_error():
    with pytest.raises(ember.DTypeError, match="bmm: expected all inputs to have the same dtype"):
        ember.bmm(ember.ones(2, 3, 4), ember.ones(2, 4, 5, dtype=ember.float64))


def test_dot_errors():
    with pytest.raises(ember.ShapeError, match=r"dot: 1-D tensors expected, got shapes \(3, 1\)"):
        ember.dot(ember.ones(3, 1), ember.ones(3))
    with pytest.raises(ember.ShapeError, match=r"dot: inconsistent tensor sizes \(3,\) and \(4,\)"):
        ember.dot(ember.ones(3), ember.ones(4))
    with pytest.raises(ember.DTypeError, match="dot: .* got float32, float64"):
        ember.dot(ember.ones(3), ember.ones(3, dtype=ember.float64))


def test_outer_mv_mm_errors():
    with pytest.raises(ember.ShapeError, match=r"outer: expected 1-D argument self, got shape"):
        ember.outer(ember.ones(3, 1), ember.ones(3))
    with pytest.raises(ember.ShapeError, match=r"mv: expected a 2-D matrix and a 1-D vector"):
        ember.mv(ember.ones(3), ember.ones(3))
    with pytest.raises(ember.ShapeError, match=r"mm: expected 2-D tensors, got shapes \(3,\)"):
        ember.mm(ember.ones(3), ember.ones(3, 2))


def test_addmm_errors():
    with pytest.raises(
        ember.ShapeError,
        match=r"addmm: input of shape \(4, 1\) does not "
        r"broadcast to the product shape \(2, 3\)",
    ):
        ember.addmm(ember.ones(4, 1), ember.ones(2, 4), ember.ones(4, 3))
    with pytest.raises(ember.ShapeError, match=r"addmm: mat1 and mat2 must be matrices"):
        ember.addmm(ember.ones(3), ember.ones(4), ember.ones(4, 3))
    with pytest.raises(ember.ShapeError, match=r"baddbmm: input of shape \(5,\) does not"):
        ember.baddbmm(ember.ones(5), ember.ones(2, 3, 4), ember.ones(2, 4, 3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", [(4, 4, 4), (1, 17, 5), (9, 3, 1), (1, 64, 1), (33, 65, 17)])
def test_small_2d_matmul_has_numpy_matmuls_bits(dtype, m, k, n):
    # the eager forward takes np.dot for these; compiled graphs run np.matmul
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    got = (ember.tensor(a) @ ember.tensor(b)).numpy()
    assert got.tobytes() == np.matmul(a, b).tobytes()
    strided = (ember.tensor(a)[:, ::2] @ ember.tensor(b)[::2]).numpy()
    assert strided.tobytes() == np.matmul(a[:, ::2], b[::2]).tobytes()
