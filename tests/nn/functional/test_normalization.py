"""batch/layer/group/instance norm, normalize, cosine_similarity, pairwise_distance and
local_response_norm against PyTorch, including running statistics and gradients of
gradients."""

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
    """Every case runs with ember's C row kernels and with its NumPy kernels alone."""
    with ember.native.use(request.param):
        yield request.param


def _affine_shapes(shapes_c):
    """(input shape, weight shape, bias shape) triples for per-channel affine norms."""
    return [(s, (s[1],), (s[1],)) for s in shapes_c]


BN_SHAPES = _affine_shapes([(4, 3), (4, 3, 5), (2, 3, 4, 5), (5, 2, 1, 1)])


def _bn_eval_make(rng, dtype, shapes):
    x, c = shapes[0], shapes[0][1]
    return [
        rng.uniform(-2, 2, x).astype(dtype),
        rng.uniform(-1, 1, c).astype(dtype),  # running mean
        rng.uniform(0.5, 2, c).astype(dtype),  # running var
        rng.uniform(-2, 2, c).astype(dtype),
        rng.uniform(-2, 2, c).astype(dtype),
    ]


def _bn_train(lib):
    def fn(x, w, b):
        c = x.shape[1]
        # fresh running stats per call: the harness calls fn several times
        rm, rv = lib.zeros(c, dtype=x.dtype), lib.ones(c, dtype=x.dtype)
        return lib.nn.functional.batch_norm(x, rm, rv, w, b, training=True, momentum=0.3)

    return fn


def _bn_eval(lib):
    def fn(x, rm, rv, w, b):
        return lib.nn.functional.batch_norm(x, rm, rv, w, b, training=False, eps=1e-3)

    return fn


LN_SHAPES = [
    ((4, 5), (5,), (5,)),
    ((2, 3, 4), (3, 4), (3, 4)),
    ((0, 5), (5,), (5,)),
    ((5,), (5,), (5,)),
]

GN_SHAPES = _affine_shapes([(4, 12), (2, 6, 5), (2, 6, 3, 2), (1, 6, 4)])


CASES = [
    OpCase(
        "batch_norm_train",
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
        shapes=BN_SHAPES,
    ),
    OpCase("batch_norm_train_running", _bn_train(ember), _bn_train(torch), shapes=BN_SHAPES[:3]),
    OpCase(
        "batch_norm_train_plain",
        lambda x: F.batch_norm(x, None, None, training=True, eps=1e-3),
        lambda x: TF.batch_norm(x, None, None, training=True, eps=1e-3),
        shapes=[((6, 3),), ((2, 3, 4, 4),), ((0, 3),)],
    ),
    OpCase(
        "batch_norm_eval",
        _bn_eval(ember),
        _bn_eval(torch),
        shapes=BN_SHAPES,
        make=_bn_eval_make,
        diff=(0, 3, 4),
    ),
    OpCase(
        "batch_norm_eval_plain",
        lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv),
        lambda x, rm, rv, w, b: TF.batch_norm(x, rm, rv),
        shapes=BN_SHAPES[:2],
        make=_bn_eval_make,
        diff=(0,),
    ),
    OpCase(
        "layer_norm",
        lambda x, w, b: F.layer_norm(x, w.shape, w, b),
        lambda x, w, b: TF.layer_norm(x, w.shape, w, b),
        shapes=LN_SHAPES,
    ),
    OpCase(
        "layer_norm_plain",
        lambda x: F.layer_norm(x, x.shape[-1:], eps=1e-3),
        lambda x: TF.layer_norm(x, x.shape[-1:], eps=1e-3),
        shapes=[((4, 5),), ((2, 3, 4),), ((3, 1),)],
    ),
    OpCase(
        "layer_norm_bias_only",
        lambda x, b: F.layer_norm(x, b.shape, None, b),
        lambda x, b: TF.layer_norm(x, b.shape, None, b),
        shapes=[((4, 5), (5,))],
    ),
    OpCase(
        "group_norm",
        lambda x, w, b: F.group_norm(x, 3, w, b),
        lambda x, w, b: TF.group_norm(x, 3, w, b),
        shapes=GN_SHAPES,
    ),
    OpCase(
        "group_norm_one_group",
        lambda x: F.group_norm(x, 1),
        lambda x: TF.group_norm(x, 1),
        shapes=[((2, 6, 5),)],
    ),
    OpCase(
        "group_norm_per_channel",
        lambda x, w, b: F.group_norm(x, 6, w, b, eps=1e-2),
        lambda x, w, b: TF.group_norm(x, 6, w, b, eps=1e-2),
        shapes=_affine_shapes([(2, 6, 5), (2, 6, 3, 2)]),
    ),
    OpCase(
        "instance_norm",
        lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
        lambda x, w, b: TF.instance_norm(x, weight=w, bias=b),
        shapes=_affine_shapes([(2, 3, 5), (2, 3, 4, 4)]),
    ),
    OpCase(
        "instance_norm_eval",
        lambda x, rm, rv, w, b: F.instance_norm(x, rm, rv, w, b, use_input_stats=False),
        lambda x, rm, rv, w, b: TF.instance_norm(x, rm, rv, w, b, use_input_stats=False),
        shapes=_affine_shapes([(2, 3, 5)]),
        make=_bn_eval_make,
        diff=(0, 3, 4),
    ),
    OpCase(
        "normalize",
        F.normalize,
        TF.normalize,
        shapes=[((4, 5),), ((2, 3, 4),), ((3, 0),)],
        domain=(0.2, 2.0),
    ),
    OpCase(
        "normalize_p1_last",
        lambda x: F.normalize(x, p=1.0, dim=-1),
        lambda x: TF.normalize(x, p=1.0, dim=-1),
        shapes=[((4, 5),), ((5,),)],
        domain=(0.2, 2.0),
    ),
    OpCase(
        "normalize_p3_dim0",
        lambda x: F.normalize(x, p=3, dim=0),
        lambda x: TF.normalize(x, p=3, dim=0),
        shapes=[((4, 5),), ((),)],
        domain=(0.2, 2.0),
    ),
    OpCase(
        "cosine_similarity",
        F.cosine_similarity,
        TF.cosine_similarity,
        shapes=[((4, 5), (4, 5)), ((4, 5), (1, 5)), ((2, 3, 4), (3, 4))],
    ),
    OpCase(
        "cosine_similarity_last",
        lambda a, b: F.cosine_similarity(a, b, dim=-1, eps=0.5),
        lambda a, b: TF.cosine_similarity(a, b, dim=-1, eps=0.5),
        shapes=[((4, 5), (4, 5)), ((3,), (3,))],
        domain=(-0.3, 0.3),  # norms below eps: the floor is value-only, as in PyTorch
        dtypes=("float16", "float32"),  # so no gradcheck: that gradient is PyTorch's, not exact
    ),
    OpCase(
        "pairwise_distance",
        F.pairwise_distance,
        TF.pairwise_distance,
        shapes=[((4, 5), (4, 5)), ((4, 5), (5,)), ((5,), (5,))],
    ),
    OpCase(
        "pairwise_distance_p1_keepdim",
        lambda a, b: F.pairwise_distance(a, b, p=1.0, keepdim=True),
        lambda a, b: TF.pairwise_distance(a, b, p=1.0, keepdim=True),
        shapes=[((4, 5), (4, 5))],
    ),
    OpCase(
        "local_response_norm",
        lambda x: F.local_response_norm(x, 3, alpha=0.5),
        lambda x: TF.local_response_norm(x, 3, alpha=0.5),
        shapes=[((2, 5, 4),)],
    ),
    OpCase(
        "local_response_norm_4d",
        lambda x: F.local_response_norm(x, 3, alpha=0.5),
        lambda x: TF.local_response_norm(x, 3, alpha=0.5),
        shapes=[((2, 6, 3, 3),)],
        dtypes=("float32", "float64"),  # PyTorch's CPU avg_pool3d has no float16 kernel
    ),
    OpCase(
        "local_response_norm_even",
        lambda x: F.local_response_norm(x, 2, alpha=0.3, beta=0.5, k=2.0),
        lambda x: TF.local_response_norm(x, 2, alpha=0.3, beta=0.5, k=2.0),
        shapes=[((2, 4, 3),)],
    ),
]


@pytest.mark.parametrize("case, dtype", params(CASES))
def test_op(case, dtype):
    run_case(case, dtype)


# ---- mixed precision and create_graph ------------------------------------------------------


@pytest.mark.parametrize(
    "fn",
    [
        lambda m, x, w, b: m.nn.functional.layer_norm(x, (4,), w, b),
        lambda m, x, w, b: m.nn.functional.group_norm(x, 2, w, b),
        lambda m, x, w, b: m.nn.functional.batch_norm(x, None, None, w, b, training=True),
    ],
    ids=["layer_norm", "group_norm", "batch_norm"],
)
def test_float16_input_with_float32_parameters(fn):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 4)).astype(np.float16)
    w, b = (rng.standard_normal(4).astype(np.float32) for _ in range(2))
    xs = [ember.tensor(a, requires_grad=True) for a in (x, w, b)]
    ts = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    y, yt = fn(ember, *xs), fn(torch, *ts)
    assert y.dtype == ember.float16
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-2, atol=1e-2)
    u = rng.standard_normal(y.shape).astype(np.float16)
    got = ember.autograd.grad(y, xs, ember.tensor(u))
    exp = torch.autograd.grad(yt, ts, torch.tensor(u))
    for g, e in zip(got, exp):
        assert g.dtype.name == str(e.dtype).replace("torch.", "")
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m, x, w, b: m.nn.functional.layer_norm(x, (5,), w, b),
        lambda m, x, w, b: m.nn.functional.batch_norm(x, None, None, w, b, training=True),
    ],
    ids=["layer_norm", "batch_norm"],
)
def test_create_graph_gradients_match_torch(fn):
    # under create_graph the fused VJP is built from ops: it must give the same values
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((3, 5, 5)), rng.standard_normal(5), rng.standard_normal(5)
    u = rng.standard_normal((3, 5, 5))
    xs = [ember.tensor(a, requires_grad=True) for a in (x, w, b)]
    ts = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    got = ember.autograd.grad(fn(ember, *xs), xs, ember.tensor(u), create_graph=True)
    exp = torch.autograd.grad(fn(torch, *ts), ts, torch.tensor(u), create_graph=True)
    for g, e in zip(got, exp):
        np.testing.assert_allclose(g.detach().numpy(), e.detach().numpy(), rtol=1e-10, atol=1e-12)
    # and a second derivative, against PyTorch's
    v = rng.standard_normal((3, 5, 5))
    g2 = ember.autograd.grad(got[0], xs[:2], ember.tensor(v))
    e2 = torch.autograd.grad(exp[0], ts[:2], torch.tensor(v))
    for g, e in zip(g2, e2):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-9, atol=1e-10)


# ---- running statistics --------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (2, 3, 4, 4)])
def test_batch_norm_running_stats_follow_torch(shape):
    rng = np.random.default_rng(0)
    c = shape[1]
    rm, rv = ember.zeros(c), ember.ones(c)
    trm, trv = torch.zeros(c), torch.ones(c)
    w, b = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    for step in range(3):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        y = F.batch_norm(ember.tensor(x), rm, rv, ember.tensor(w), ember.tensor(b), True, 0.2)
        yt = TF.batch_norm(torch.tensor(x), trm, trv, torch.tensor(w), torch.tensor(b), True, 0.2)
        np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-6, atol=1e-6)
    assert rm._version == 3 and rv._version == 3
    x = rng.standard_normal(shape).astype(np.float32)
    y = F.batch_norm(ember.tensor(x), rm, rv, ember.tensor(w), ember.tensor(b))
    yt = TF.batch_norm(torch.tensor(x), trm, trv, torch.tensor(w), torch.tensor(b))
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-5, atol=1e-5)
    assert rm._version == 3  # evaluation leaves the statistics alone


def test_batch_norm_running_stats_not_recorded_by_autograd():
    rm, rv = ember.zeros(3), ember.ones(3)
    x = ember.randn(4, 3, requires_grad=True)
    F.batch_norm(x, rm, rv, training=True).sum().backward()
    assert not rm.requires_grad and not rv.requires_grad and rm.grad_fn is None


def test_instance_norm_running_stats_follow_torch():
    rng = np.random.default_rng(0)
    rm, rv, trm, trv = ember.zeros(3), ember.ones(3), torch.zeros(3), torch.ones(3)
    for _ in range(2):
        x = rng.standard_normal((2, 3, 6)).astype(np.float32) * 3 + 1
        F.instance_norm(ember.tensor(x), rm, rv, momentum=0.5)
        TF.instance_norm(torch.tensor(x), trm, trv, momentum=0.5)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-6)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-6)


# ---- errors ------------------------------------------------------------------------------


def test_layer_norm_shape_errors():
    x = ember.ones(4, 3, 5)
    with pytest.raises(
        ember.ShapeError,
        match=r"layer_norm: given normalized_shape=\[4\], "
        r"expected input with shape \[\*, 4\], but got input of size \[4, 3, 5\]",
    ):
        F.layer_norm(x, (4,))
    with pytest.raises(
        ember.ShapeError,
        match=r"layer_norm: expected weight to be of same shape "
        r"as normalized_shape, but got weight of shape \[4\] and normalized_shape=\[5\]",
    ):
        F.layer_norm(x, (5,), ember.ones(4))
    with pytest.raises(ember.ShapeError, match=r"layer_norm: expected bias to be of same shape"):
        F.layer_norm(x, 5, None, ember.ones(3, 5))
    with pytest.raises(
        ember.ShapeError,
        match=r"layer_norm: expected normalized_shape to be at "
        r"least 1-dimensional",
    ):
        F.layer_norm(x, ())
    with pytest.raises(
        ember.ShapeError, match=r"layer_norm: given normalized_shape=\[2, 4, 3, 5\]"
    ):
        F.layer_norm(x, (2, 4, 3, 5))


def test_group_norm_errors():
    with pytest.raises(
        ember.ShapeError,
        match=r"group_norm: expected number of channels in input "
        r"to be divisible by num_groups, but got input of shape \(4, 3, 5\) and "
        r"num_groups=2",
    ):
        F.group_norm(ember.ones(4, 3, 5), 2)
    with pytest.raises(
        ember.ShapeError,
        match=r"group_norm: weight should contain 3 elements not "
        r"4",
    ):
        F.group_norm(ember.ones(4, 3, 5), 3, ember.ones(4))
    with pytest.raises(
        ember.ShapeError,
        match=r"group_norm: expected at least 2 dimensions for "
        r"input tensor but received 1",
    ):
        F.group_norm(ember.ones(3), 1)


@pytest.mark.parametrize(
    "kw, msg",
    [
        (
            {"running_mean": (4,)},
            r"batch_norm: running_mean should contain 3 elements not 4 "
            r"\(shape \(4,\); input shape \(4, 3, 5\)\)",
        ),
        ({"running_var": (2,)}, r"batch_norm: running_var should contain 3 elements not 2"),
        ({"weight": (4,)}, r"batch_norm: weight should contain 3 elements not 4"),
        ({"bias": (1,)}, r"batch_norm: bias should contain 3 elements not 1"),
    ],
)
def test_batch_norm_size_errors(kw, msg):
    args = {"running_mean": (3,), "running_var": (3,), **kw}
    rm, rv = ember.zeros(args["running_mean"]), ember.ones(args["running_var"])
    w = ember.ones(kw["weight"]) if "weight" in kw else None
    b = ember.ones(kw["bias"]) if "bias" in kw else None
    with pytest.raises(ember.ShapeError, match=msg):
        F.batch_norm(ember.ones(4, 3, 5), rm, rv, w, b, training=True)


def test_batch_norm_mode_errors():
    with pytest.raises(
        EmberValueError,
        match="batch_norm: running_mean and running_var must be defined in evaluation mode",
    ):
        F.batch_norm(ember.ones(4, 3), None, None)
    with pytest.raises(
        ember.ShapeError,
        match=r"batch_norm: expected more than 1 value per "
        r"channel when training, got input of shape \(1, 3, 1\)",
    ):
        F.batch_norm(ember.ones(1, 3, 1), None, None, training=True)
    with pytest.raises(
        ember.ShapeError,
        match=r"batch_norm: expected input of shape \(N, C, \*\), "
        r"got shape \(3,\)",
    ):
        F.batch_norm(ember.ones(3), None, None, training=True)


def test_instance_norm_errors():
    with pytest.raises(
        ember.ShapeError,
        match=r"instance_norm: expected more than 1 spatial "
        r"element when training, got input of shape \(2, 3, 1\)",
    ):
        F.instance_norm(ember.ones(2, 3, 1))
    with pytest.raises(ember.ShapeError, match=r"instance_norm: expected input of shape"):
        F.instance_norm(ember.ones(2, 3))


@pytest.mark.parametrize(
    "fn, name",
    [
        (lambda x, w: F.layer_norm(x, (3,), w), "layer_norm"),
        (lambda x, w: F.group_norm(x, 1, w), "group_norm"),
        (lambda x, w: F.batch_norm(x, None, None, w, training=True), "batch_norm"),
    ],
)
def test_norm_dtype_errors(fn, name):
    with pytest.raises(
        ember.DTypeError, match=f"{name}: expected a floating-point input, got int64"
    ):
        fn(ember.ones(2, 3, dtype=ember.int64), None)
    with pytest.raises(
        ember.DTypeError, match=f"{name}: weight has dtype float64 but input has dtype float32"
    ):
        fn(ember.ones(2, 3), ember.ones(3, dtype=ember.float64))


def test_distance_errors():
    with pytest.raises(ember.DTypeError, match="normalize: expected a floating-point input"):
        F.normalize(ember.ones(3, dtype=ember.int64))
    with pytest.raises(ember.ShapeError, match=r"normalize: dim 2 is out of range"):
        F.normalize(ember.ones(3, 4), dim=2)
    with pytest.raises(
        ember.ShapeError,
        match=r"cosine_similarity: shapes \(3, 4\) and \(2, 4\) "
        r"cannot be broadcast",
    ):
        F.cosine_similarity(ember.ones(3, 4), ember.ones(2, 4))
    with pytest.raises(ember.ShapeError, match=r"pairwise_distance: shapes \(3, 4\) and \(5,\)"):
        F.pairwise_distance(ember.ones(3, 4), ember.ones(5))
    with pytest.raises(
        ember.ShapeError,
        match=r"local_response_norm: expected 3D or higher "
        r"dimensional input, got shape \(3, 4\)",
    ):
        F.local_response_norm(ember.ones(3, 4), 2)
