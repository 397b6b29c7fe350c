"""linear, bilinear, dropout variants, embedding and one_hot against PyTorch (dropout by its
statistics and mask consistency: the two RNGs differ)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F
from ember.errors import EmberValueError
from ember.testing.optest import OpCase, params, run_case

FLOATS = ("float16", "float32", "float64")

LINEAR_SHAPES = [
    ((4, 3), (5, 3), (5,)),
    ((2, 4, 3), (5, 3), (5,)),
    ((2, 2, 2, 3), (5, 3), (5,)),
    ((3,), (5, 3), (5,)),
    ((0, 3), (5, 3), (5,)),
    ((2, 0), (4, 0), (4,)),
    ((2, 3), (5, 3), (2, 5)),
    ((2, 3), (5, 3), ()),
    ((4, 3), (5, 3)),
    ((2, 4, 3), (5, 3)),
    ((2, 3), (3,)),
    ((3,), (3,)),
]


def _embedding_make(n_rows=6, dim=3):
    def make(rng, dtype, shapes):
        (idx_shape,) = shapes
        idx = rng.integers(0, n_rows, idx_shape).astype(np.int64)
        if idx.size > 2:
            idx.flat[:3] = [2, 2, 1]  # repeats accumulate; row 1 is the padding row below
        return [idx, rng.uniform(-1, 1, (n_rows, dim)).astype(dtype)]

    return make


def _one_hot_make(rng, dtype, shapes):
    return [rng.integers(0, 4, s).astype(np.int64) for s in shapes]


CASES = [
    OpCase("linear", F.linear, TF.linear, shapes=LINEAR_SHAPES),
    OpCase(
        "linear_int",
        F.linear,
        TF.linear,
        shapes=[((4, 3), (5, 3), (5,)), ((2, 4, 3), (5, 3))],
        dtypes=("int64",),
    ),
    OpCase(
        "bilinear",
        F.bilinear,
        TF.bilinear,
        shapes=[((5, 2), (5, 3), (4, 2, 3), (4,)), ((2, 5, 2), (2, 5, 3), (4, 2, 3))],
    ),
    OpCase(
        "embedding",
        F.embedding,
        TF.embedding,
        shapes=[((5,),), ((2, 4),), ((0,),), ((),)],
        make=_embedding_make(),
        diff=(1,),
    ),
    OpCase(
        "embedding_large_vocab",  # more rows than the one-hot GEMM path takes
        lambda i, w: F.embedding(i, w, padding_idx=2),
        lambda i, w: TF.embedding(i, w, padding_idx=2),
        shapes=[((40,),), ((3, 5),)],
        make=_embedding_make(n_rows=300, dim=2),
        diff=(1,),
        dtypes=("float16", "float32"),
    ),
    OpCase(
        "embedding_large_vocab_gradgrad",
        F.embedding,
        TF.embedding,
        shapes=[((40,),)],
        make=_embedding_make(n_rows=300, dim=2),
        diff=(1,),
        dtypes=("float64",),
    ),
    OpCase(
        "embedding_padding",
        lambda i, w: F.embedding(i, w, padding_idx=1),
        lambda i, w: TF.embedding(i, w, padding_idx=1),
        shapes=[((7,),), ((3, 4),)],
        make=_embedding_make(),
        diff=(1,),
        dtypes=("float16", "float32"),  # no gradcheck: the padding row's gradient is zeroed
    ),
    OpCase(
        "embedding_negative_padding",
        lambda i, w: F.embedding(i, w, padding_idx=-5),
        lambda i, w: TF.embedding(i, w, padding_idx=-5),
        shapes=[((7,),)],
        make=_embedding_make(),
        diff=(1,),
        dtypes=("float32",),
    ),
    OpCase(
        "one_hot",
        F.one_hot,
        TF.one_hot,
        shapes=[((5,),), ((2, 3),), ((),)],
        make=_one_hot_make,
        dtypes=("int64",),
    ),
    OpCase(
        "one_hot_classes",
        lambda t: F.one_hot(t, 6),
        lambda t: TF.one_hot(t, 6),
        shapes=[((5,),), ((0,),)],
        make=_one_hot_make,
        dtypes=("int64",),
    ),
]


@pytest.mark.parametrize("case, dtype", params(CASES))
def test_op(case, dtype):
    run_case(case, dtype)


# ---- linear ------------------------------------------------------------------------------


def test_linear_create_graph_first_order_matches_torch():
    # under create_graph the fused VJP runs on Tensors: its values must match too
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s) for s in ((2, 3, 4), (5, 4), (5,)))
    u = rng.standard_normal((2, 3, 5))
    xs = [ember.tensor(a, requires_grad=True) for a in (x, w, b)]
    ts = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    got = ember.autograd.grad(F.linear(*xs), xs, ember.tensor(u), create_graph=True)
    exp = torch.autograd.grad(TF.linear(*ts), ts, torch.tensor(u))
    for g, e in zip(got, exp):
        np.testing.assert_allclose(g.detach().numpy(), e.numpy(), rtol=1e-12, atol=1e-12)
    assert got[0].requires_grad and got[1].requires_grad  # each depends on the other input


@pytest.mark.parametrize(
    "x, w, b, msg",
    [
        (
            (2, 3),
            (5, 4),
            None,
            r"linear: input shape \(2, 3\) and weight shape \(5, 4\) cannot "
            r"be multiplied: in_features 3 \(last dim of input\) != 4",
        ),
        ((7, 2, 3), (5, 4), (5,), r"linear: input shape \(7, 2, 3\) and weight shape \(5, 4\)"),
        ((), (5, 4), None, r"linear: input and weight must be at least 1-D, got shapes \(\)"),
        ((2, 3), (2, 5, 3), None, r"linear: weight must be 1-D or 2-D, got shape \(2, 5, 3\)"),
        ((2, 3), (3,), (1,), r"linear: a bias needs a 2-D weight, got weight shape \(3,\)"),
        (
            (2, 3),
            (5, 3),
            (4,),
            r"linear: bias shape \(4,\) does not broadcast to the output "
            r"\(2, 5\)",
        ),
        ((2, 3), (5, 3), (3, 2, 5), r"linear: bias shape \(3, 2, 5\) does not broadcast"),
    ],
)
def test_linear_shape_errors(x, w, b, msg):
    args = [ember.ones(x), ember.ones(w)] + ([ember.ones(b)] if b is not None else [])
    with pytest.raises(ember.ShapeError, match=msg):
        F.linear(*args)


def test_linear_dtype_errors():
    with pytest.raises(
        ember.DTypeError,
        match="linear: expected all inputs to have the same dtype, got float32, float64",
    ):
        F.linear(ember.ones(2, 3), ember.ones(5, 3, dtype=ember.float64))
    with pytest.raises(ember.DTypeError, match="linear: .* got float32, float32, float64"):
        F.linear(ember.ones(2, 3), ember.ones(5, 3), ember.ones(5, dtype=ember.float64))


def test_bilinear_errors():
    with pytest.raises(ember.ShapeError, match=r"bilinear: input1 \(5, 2\) and input2 \(4, 3\)"):
        F.bilinear(ember.ones(5, 2), ember.ones(4, 3), ember.ones(4, 2, 3))
    with pytest.raises(ember.ShapeError, match=r"bilinear: bias shape \(3,\) must be \(4,\)"):
        F.bilinear(ember.ones(5, 2), ember.ones(5, 3), ember.ones(4, 2, 3), ember.ones(3))


# ---- dropout -----------------------------------------------------------------------------


def test_dropout_statistics():
    ember.manual_seed(0)
    p = 0.3
    y = F.dropout(ember.ones(200_000), p=p).numpy()
    dropped = np.mean(y == 0)
    assert abs(dropped - p) < 0.005  # ~5 standard deviations
    np.testing.assert_allclose(y[y != 0], 1 / (1 - p), rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.01


@pytest.mark.parametrize("dtype", FLOATS)
def test_dropout_gradient_uses_the_forward_mask(dtype):
    ember.manual_seed(1)
    x = ember.tensor(np.linspace(1, 2, 1000), dtype=getattr(ember, dtype), requires_grad=True)
    y = F.dropout(x, p=0.4)
    assert y.dtype == x.dtype
    y.backward(ember.ones_like(y))
    mask = y.detach().numpy() != 0
    assert 0.3 < 1 - mask.mean() < 0.5
    expected = np.where(mask, 1 / 0.6, 0.0).astype(dtype)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-3)


def test_dropout_is_seeded_by_manual_seed():
    ember.manual_seed(7)
    a = F.dropout(ember.ones(64)).numpy()
    ember.manual_seed(7)
    b = F.dropout(ember.ones(64)).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, F.dropout(ember.ones(64)).numpy())


def test_dropout_identity_cases():
    x = ember.randn(3, 4)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    z = F.dropout(ember.randn(3, 4, requires_grad=True), 1.0)
    assert float(z.abs().sum()) == 0.0


def test_dropout_p_one_gives_zero_gradient():
    x = ember.randn(5, requires_grad=True)
    F.dropout(x, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(5, np.float32))


def test_dropout_inplace():
    ember.manual_seed(3)
    x = ember.ones(1000)
    v = x._version
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and x._version == v + 1
    assert 0.4 < float((x == 0).float().mean()) < 0.6


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_bad_p(p):
    with pytest.raises(
        EmberValueError,
        match=f"dropout: dropout probability has to be between 0 and 1, but got {p}",
    ):
        F.dropout(ember.ones(3), p)


def test_dropout_rejects_integers():
    with pytest.raises(
        ember.DTypeError, match="dropout: expected a floating-point input, got int64"
    ):
        F.dropout(ember.tensor([1, 2]))


@pytest.mark.parametrize(
    "fn, shape, plane",
    [
        (F.dropout1d, (8, 16, 5), (2,)),
        (F.dropout1d, (16, 5), (1,)),
        (F.dropout2d, (8, 16, 3, 2), (2, 3)),
        (F.dropout2d, (8, 16, 5), (2,)),
        (F.dropout3d, (4, 16, 2, 2, 2), (2, 3, 4)),
        (F.dropout3d, (16, 2, 2, 2), (1, 2, 3)),
    ],
)
def test_channel_dropout_drops_whole_channels(fn, shape, plane):
    ember.manual_seed(0)
    x = ember.tensor(np.random.default_rng(0).uniform(1, 2, shape), dtype=ember.float32)
    x.requires_grad_()
    y = fn(x, p=0.5)
    keep = y.detach().numpy() != 0
    assert (keep.all(axis=plane) | (~keep).all(axis=plane)).all()
    assert 0.2 < keep.mean() < 0.8
    np.testing.assert_allclose(y.detach().numpy()[keep], 2 * x.detach().numpy()[keep], 1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(keep, 2.0, 0.0))


@pytest.mark.parametrize(
    "fn, shape, msg",
    [
        (F.dropout1d, (3,), r"dropout1d: expected 2-D or 3-D input, but received a 1-D input"),
        (F.dropout2d, (3, 4), r"dropout2d: expected 3-D or 4-D input, but received a 2-D input"),
        (F.dropout3d, (3, 4, 5), r"dropout3d: expected 4-D or 5-D input, but received a 3-D"),
    ],
)
def test_channel_dropout_rank_errors(fn, shape, msg):
    with pytest.raises(ember.ShapeError, match=msg):
        fn(ember.ones(*shape))


def test_alpha_dropout_keeps_mean_and_variance():
    ember.manual_seed(0)
    x = ember.randn(200_000)
    y = F.alpha_dropout(x, p=0.2, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1.0) < 0.02
    alpha = -1.7580993408473766
    a = 1 / math.sqrt(0.8 * (1 + 0.2 * alpha**2))
    b = -a * alpha * 0.2
    kept = np.isclose(y, a * x.numpy() + b, atol=1e-6)
    assert np.allclose(y[~kept], a * alpha + b, atol=1e-6)
    assert abs((~kept).mean() - 0.2) < 0.005
    assert F.alpha_dropout(x, 0.2) is x  # training defaults to False, as in PyTorch


def test_feature_alpha_dropout_per_channel():
    ember.manual_seed(0)
    y = F.feature_alpha_dropout(ember.ones(64, 8, 5), p=0.5, training=True).numpy()
    assert np.all(y == y[:, :, :1])
    assert len(np.unique(y)) == 2


# ---- embedding ---------------------------------------------------------------------------


def test_embedding_accumulates_and_skips_padding():
    w = ember.randn(4, 2, requires_grad=True)
    F.embedding(ember.tensor([[1, 1], [3, 1]]), w, padding_idx=3).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[0, 0], [3, 3], [0, 0], [0, 0]])


def test_embedding_int32_indices():
    w = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    i = np.array([4, 0, 4], np.int32)
    got = F.embedding(ember.tensor(i), ember.tensor(w))
    np.testing.assert_array_equal(got.numpy(), TF.embedding(torch.tensor(i), torch.tensor(w)))


def test_embedding_max_norm_matches_torch():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 4)) * 2
    idx = np.array([[0, 2], [2, 5]])
    ew, tw = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    got = F.embedding(ember.tensor(idx), ew, max_norm=1.5, norm_type=1.0)
    exp = TF.embedding(torch.tensor(idx), tw, max_norm=1.5, norm_type=1.0)
    np.testing.assert_allclose(got.detach().numpy(), exp.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ew.detach().numpy(), tw.detach().numpy(), rtol=1e-6)
    assert ew._version == 1


@pytest.mark.parametrize(
    "idx, kw, err, msg",
    [
        ([5], {}, ember.EmberIndexError, r"embedding: index 5 is out of range for 3 rows"),
        ([-1], {}, ember.EmberIndexError, r"embedding: index -1 is out of range for 3 rows"),
        (
            [1],
            {"padding_idx": 3},
            ember.EmberIndexError,
            r"embedding: padding_idx 3 must be within num_embeddings \(3\)",
        ),
        (
            [1.0],
            {},
            ember.DTypeError,
            "embedding: expected indices of type int64 or int32, got float32",
        ),
        (
            [1],
            {"scale_grad_by_freq": True},
            EmberValueError,
            "embedding: scale_grad_by_freq and sparse are not supported",
        ),
    ],
)
def test_embedding_errors(idx, kw, err, msg):
    with pytest.raises(err, match=msg):
        F.embedding(ember.tensor(idx), ember.ones(3, 2), **kw)


def test_embedding_weight_must_be_2d():
    with pytest.raises(ember.ShapeError, match=r"embedding: 'weight' must be 2-D, got shape"):
        F.embedding(ember.tensor([1]), ember.ones(3))


# ---- one_hot -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, n, err, msg",
    [
        (
            [0, 3],
            2,
            ember.EmberIndexError,
            "one_hot: class values must be smaller than num_classes=2, got 3",
        ),
        ([0, -3], 5, ember.EmberIndexError, "one_hot: class values must be non-negative, got -3"),
        (
            [],
            -1,
            EmberValueError,
            "one_hot: can not infer the number of classes from an empty tensor",
        ),
    ],
)
def test_one_hot_errors(values, n, err, msg):
    with pytest.raises(err, match=msg):
        F.one_hot(ember.tensor(values, dtype=ember.int64), n)


def test_one_hot_needs_int64():
    with pytest.raises(
        ember.DTypeError, match="one_hot: only applicable to int64 index tensors, got int32"
    ):
        F.one_hot(ember.tensor([1], dtype=ember.int32), 3)
