"""Loss functions against PyTorch: values, dtypes, gradients (input and target), gradcheck and
gradgradcheck, and every error path."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.native
import ember.nn.functional as F
from ember.errors import EmberValueError
from ember.testing.optest import OpCase, params, run_case

from .loss_helpers import _i, _n, _trim, _u

pytestmark = pytest.mark.filterwarnings("ignore:size_average and reduce args:UserWarning")

REDUCTIONS = ("mean", "sum", "none")

# ---- class-index and class-probability targets ----------------------------------------------

# input shapes: batched, unbatched (C,), K-dim (N, C, d1, d2), an empty batch
CLASS_SHAPES = [((5, 4),), ((4,),), ((2, 3, 2, 2),), ((0, 4),)]


def _n_classes(shape):
    return shape[1] if len(shape) > 1 else shape[0]


def class_make(*, weight=False, ignore_index=-100, probs=False):
    """Logits, targets (class indices with one ignored entry, or probabilities) [, weight]."""

    def make(rng, dtype, shapes):
        ((shape,),) = (shapes,)
        n = _n_classes(shape)
        x = _u(rng, -2, 2, shape).astype(dtype)
        if probs:
            t = _u(rng, 0.1, 1.0, shape)
            t = (t / t.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)).astype(dtype)
        else:
            t = _i(rng, 0, n, shape[:1] + shape[2:] if len(shape) > 1 else ())
            if t.size > 1:
                t.flat[1] = ignore_index
        out = [x, t]
        if weight:
            out.append(_u(rng, 0.5, 2.0, (n,)).astype(dtype))
        return out

    return make


def _kw(w, **kw):
    return kw if w is None else dict(kw, weight=w)


def ce_case(reduction, *, weight=False, ignore_index=-100, smoothing=0.0, probs=False):
    name = f"cross_entropy-{reduction}" + "-weight" * weight + "-probs" * probs
    name += f"-ignore{ignore_index}" * (ignore_index != -100) + f"-ls{smoothing}" * bool(smoothing)
    kw = dict(reduction=reduction, ignore_index=ignore_index, label_smoothing=smoothing)
    return OpCase(
        name,
        lambda x, t, w=None: F.cross_entropy(x, t, **_kw(w, **kw)),
        lambda x, t, w=None: TF.cross_entropy(x, t, **_kw(w, **kw)),
        shapes=CLASS_SHAPES,
        make=class_make(weight=weight, ignore_index=ignore_index, probs=probs),
        diff=None if probs else (0,),  # probability targets (and their weights) get gradients
        tol={"float16": (2e-2, 2e-2)},
    )


def nll_case(reduction, *, weight=False, ignore_index=-100):
    name = f"nll_loss-{reduction}" + "-weight" * weight + f"-ignore{ignore_index}"
    kw = dict(reduction=reduction, ignore_index=ignore_index)
    return OpCase(
        name,
        lambda x, t, w=None: F.nll_loss(x, t, **_kw(w, **kw)),
        lambda x, t, w=None: TF.nll_loss(x, t, **_kw(w, **kw)),
        shapes=CLASS_SHAPES,
        make=class_make(weight=weight, ignore_index=ignore_index),
        diff=(0,),
    )


CLASS_CASES = [
    ce_case(r, weight=w, smoothing=ls)
    for r in REDUCTIONS
    for w in (False, True)
    for ls in (0.0, 0.25)
]
CLASS_CASES += [
    ce_case("mean", ignore_index=2),
    ce_case("mean", weight=True, ignore_index=0, smoothing=0.1),
    ce_case("none", weight=True, ignore_index=1, smoothing=1.0),
]
CLASS_CASES += [
    ce_case(r, weight=w, smoothing=ls, probs=True)
    for r in REDUCTIONS
    for w in (False, True)
    for ls in (0.0, 0.3)
]
CLASS_CASES += [
    nll_case(r, weight=w, ignore_index=ii)
    for r in REDUCTIONS
    for w in (False, True)
    for ii in (-100, 1)
]
CLASS_CASES += [
    OpCase(
        "nll_loss_of_log_softmax",
        lambda x, t: F.nll_loss(F.log_softmax(x, 1), t),
        lambda x, t: TF.nll_loss(TF.log_softmax(x, 1), t),
        shapes=[CLASS_SHAPES[0], CLASS_SHAPES[2]],
        make=class_make(),
    ),
    OpCase(
        "cross_entropy_legacy_reduce_false",
        lambda x, t: F.cross_entropy(x, t, reduce=False),
        lambda x, t: TF.cross_entropy(x, t, reduce=False),
        shapes=CLASS_SHAPES[:1],
        make=class_make(),
    ),
    OpCase(
        "nll_loss_legacy_size_average_false",
        lambda x, t: F.nll_loss(x, t, size_average=False),
        lambda x, t: TF.nll_loss(x, t, size_average=False),
        shapes=CLASS_SHAPES[:1],
        make=class_make(),
    ),
]


@pytest.mark.parametrize("case, dtype", params(_trim(CLASS_CASES)))
def test_class_losses(case, dtype):
    run_case(case, dtype)


def test_every_target_ignored_gives_nan_mean_and_zero_grad():
    x = np.random.default_rng(0).standard_normal((3, 4))
    t = np.full(3, -100)
    for w in (None, np.ones(4)):
        ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        got = F.cross_entropy(ex, ember.tensor(t), weight=None if w is None else ember.tensor(w))
        exp = TF.cross_entropy(tx, torch.tensor(t), weight=None if w is None else torch.tensor(w))
        assert np.isnan(got.item()) and np.isnan(exp.item())
        got.backward()
        exp.backward()
        np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())


def test_cross_entropy_probability_target_of_other_dtype_promotes():
    rng = np.random.default_rng(1)
    x, t = _n(rng, (3, 4)).astype(np.float32), rng.random((3, 4))
    got = F.cross_entropy(ember.tensor(x), ember.tensor(t))
    exp = TF.cross_entropy(torch.tensor(x), torch.tensor(t))
    assert got.dtype == ember.float64 and exp.dtype == torch.float64
    np.testing.assert_allclose(got.item(), exp.item(), rtol=1e-6)


def test_cross_entropy_double_backward_matches_torch():
    rng = np.random.default_rng(2)
    x, t, w = _n(rng, (4, 5)), np.array([0, 4, -100, 2]), rng.random(5)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    kw = dict(label_smoothing=0.2)
    (ge,) = ember.autograd.grad(
        F.cross_entropy(ex, ember.tensor(t), ember.tensor(w), **kw), ex, create_graph=True
    )
    (gt,) = torch.autograd.grad(
        TF.cross_entropy(tx, torch.tensor(t), torch.tensor(w), **kw), tx, create_graph=True
    )
    (he,) = ember.autograd.grad((ge * ge).sum(), ex)
    (ht,) = torch.autograd.grad((gt * gt).sum(), tx)
    np.testing.assert_allclose(he.numpy(), ht.numpy(), rtol=1e-10, atol=1e-12)


def _torch_ce_and_grad(x, t, **kw):
    tx = torch.tensor(x, requires_grad=True)
    loss = TF.cross_entropy(tx, torch.tensor(t), **kw)
    loss.backward(torch.ones_like(loss))
    return loss.detach().numpy(), tx.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_classifier_loss_is_one_fused_node_with_the_composites_values(dtype, reduction):
    # (N, C) logits, class indices, no weight or smoothing: one softmax_cross_entropy node
    rng = np.random.default_rng(3)
    x, t = (rng.standard_normal((9, 6)) * 4).astype(dtype), rng.integers(0, 6, 9)
    t[2] = -100
    ex = ember.tensor(x, requires_grad=True)
    loss = F.cross_entropy(ex, ember.tensor(t), reduction=reduction)
    assert loss.grad_fn.op.name == "softmax_cross_entropy"
    composite = F.nll_loss(F.log_softmax(ember.tensor(x), 1), ember.tensor(t), reduction=reduction)
    np.testing.assert_array_equal(loss.detach().numpy(), composite.numpy())
    loss.backward(ember.ones_like(loss))
    want_loss, want_grad = _torch_ce_and_grad(x, t, reduction=reduction)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(loss.detach().numpy(), want_loss, rtol=tol, atol=tol)
    np.testing.assert_allclose(ex.grad.numpy(), want_grad, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore_index", [-100, 1])
def test_fused_cross_entropy_without_native_kernels_matches_torch(dtype, reduction, ignore_index):
    rng = np.random.default_rng(4)
    x, t = (rng.standard_normal((7, 5)) * 3).astype(dtype), rng.integers(0, 5, 7)
    kw = dict(reduction=reduction, ignore_index=ignore_index)
    with ember.native.use(False):
        ex = ember.tensor(x, requires_grad=True)
        loss = F.cross_entropy(ex, ember.tensor(t), **kw)
        loss.backward(ember.ones_like(loss))
    want_loss, want_grad = _torch_ce_and_grad(x, t, **kw)
    tol = {np.float16: 2e-2, np.float32: 1e-6, np.float64: 1e-12}[dtype]
    np.testing.assert_allclose(loss.detach().numpy(), want_loss, rtol=tol, atol=tol)
    np.testing.assert_allclose(ex.grad.numpy(), want_grad, rtol=tol, atol=tol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_fused_cross_entropy_double_backward_matches_torch(reduction):
    rng = np.random.default_rng(5)
    x, t = rng.standard_normal((4, 5)), np.array([0, 4, -100, 2])
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    le = F.cross_entropy(ex, ember.tensor(t), reduction=reduction)
    lt = TF.cross_entropy(tx, torch.tensor(t), reduction=reduction)
    (ge,) = ember.autograd.grad(le.sum(), ex, create_graph=True)
    (gt,) = torch.autograd.grad(lt.sum(), tx, create_graph=True)
    (he,) = ember.autograd.grad((ge * ge).sum(), ex)
    (ht,) = torch.autograd.grad((gt * gt).sum(), tx)
    np.testing.assert_allclose(ge.detach().numpy(), gt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(he.numpy(), ht.numpy(), rtol=1e-10, atol=1e-12)


# ---- binary cross entropy ---------------------------------------------------------------------

PAIR_SHAPES = [((), ()), ((5,), (5,)), ((3, 4), (3, 4)), ((0, 3), (0, 3)), ((2, 3, 4), (2, 3, 4))]


def prob_make(*, weight_shape=None, extreme=False):
    def make(rng, dtype, shapes):
        x = _u(rng, 0.05, 0.95, shapes[0])
        if extreme and x.size > 2:
            x.flat[:3] = (0.0, 1.0, 1e-50)  # log clamps at -100 and the 1e-12 floor
        out = [x.astype(dtype), _u(rng, 0, 1, shapes[1]).astype(dtype)]
        if weight_shape is not None:
            out.append(_u(rng, 0.5, 2.0, weight_shape(shapes[0])).astype(dtype))
        return out

    return make


BCE_CASES = (
    [
        OpCase(
            f"binary_cross_entropy-{r}",
            lambda x, y, r=r: F.binary_cross_entropy(x, y, reduction=r),
            lambda x, y, r=r: TF.binary_cross_entropy(x, y, reduction=r),
            shapes=PAIR_SHAPES,
            make=prob_make(),
        )
        for r in REDUCTIONS
    ]
    + [
        OpCase(
            f"binary_cross_entropy-weight-{r}",
            lambda x, y, w, r=r: F.binary_cross_entropy(x, y, w, reduction=r),
            lambda x, y, w, r=r: TF.binary_cross_entropy(x, y, w, reduction=r),
            shapes=PAIR_SHAPES,
            make=prob_make(weight_shape=lambda s: s[-1:]),  # broadcast along the last dim
            diff=(0, 1),
        )
        for r in REDUCTIONS
    ]
    + [
        OpCase(
            "binary_cross_entropy-clamped-logs",
            lambda x, y: F.binary_cross_entropy(x, y, reduction="none"),
            lambda x, y: TF.binary_cross_entropy(x, y, reduction="none"),
            shapes=[((3, 4), (3, 4))],
            make=prob_make(extreme=True),
            dtypes=("float32", "float64"),
            grad=False,  # gradients at exactly 0 and 1 are checked below against torch
        ),
    ]
)


@pytest.mark.parametrize("case, dtype", params(_trim(BCE_CASES)))
def test_binary_cross_entropy(case, dtype):
    run_case(case, dtype)


def test_binary_cross_entropy_grad_at_the_clamps_matches_torch():
    x = np.array([0.0, 1.0, 1e-50, 0.5, 1.0])
    y = np.array([0.0, 1.0, 0.3, 0.5, 0.2])
    ex, ey = ember.tensor(x, requires_grad=True), ember.tensor(y, requires_grad=True)
    tx, ty = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    F.binary_cross_entropy(ex, ey, reduction="sum").backward()
    TF.binary_cross_entropy(tx, ty, reduction="sum").backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ey.grad.numpy(), ty.grad.numpy(), rtol=1e-12)


# ---- errors -----------------------------------------------------------------------------------


def _logits(*shape):
    return ember.randn(*shape)


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_target_shape_mismatch(fn):
    name = fn.__name__
    with pytest.raises(
        ember.ShapeError, match=rf"{name}: target shape \(2,\) does not match input shape \(3, 4\)"
    ):
        fn(_logits(3, 4), ember.tensor([0, 1]))
    with pytest.raises(
        ember.ShapeError, match=rf"{name}: target shape \(2, 3\) does not match input shape"
    ):
        fn(_logits(2, 3, 4), ember.zeros(2, 3, dtype=ember.int64))
    with pytest.raises(ember.ShapeError, match=rf"{name}: target shape \(1,\) does not match"):
        fn(_logits(4), ember.tensor([1]))


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
@pytest.mark.parametrize("bad", [4, -1, 7])
def test_class_index_out_of_range(fn, bad):
    with pytest.raises(
        ember.EmberIndexError, match=rf"{fn.__name__}: target {bad} is out of bounds for 4 classes"
    ):
        fn(_logits(3, 4), ember.tensor([0, bad, 1]))


def test_ignore_index_is_not_out_of_range():
    x = _logits(3, 4)
    assert F.cross_entropy(x, ember.tensor([0, -1, 1]), ignore_index=-1).shape == ()
    assert F.nll_loss(x, ember.tensor([0, 9, 1]), ignore_index=9).shape == ()


def test_nll_loss_float_target_rejected():
    with pytest.raises(
        ember.DTypeError, match="nll_loss: expected class-index targets of dtype int64, got float32"
    ):
        F.nll_loss(_logits(3, 4), ember.zeros(3))


def test_int32_target_rejected():
    with pytest.raises(ember.DTypeError, match="cross_entropy: .* int64, got int32"):
        F.cross_entropy(_logits(3, 4), ember.zeros(3, dtype=ember.int32))


def test_cross_entropy_integer_probabilities_rejected():
    with pytest.raises(
        ember.DTypeError,
        match=r"cross_entropy: expected floating-point class "
        r"probabilities .* \(3, 4\), got int64",
    ):
        F.cross_entropy(_logits(3, 4), ember.zeros(3, 4, dtype=ember.int64))


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_weight_length(fn):
    with pytest.raises(
        ember.ShapeError,
        match=rf"{fn.__name__}: weight should have one entry per class \(4\), got weight of "
        r"shape \(3,\)",
    ):
        fn(_logits(3, 4), ember.tensor([0, 1, 2]), weight=ember.ones(3))


def test_weight_dtype():
    with pytest.raises(
        ember.DTypeError,
        match="cross_entropy: weight dtype float64 does not match input dtype float32",
    ):
        F.cross_entropy(_logits(3, 4), ember.tensor([0, 1, 2]), weight=ember.ones(4).double())


def test_weight_requiring_grad_rejected_like_torch():
    w = ember.ones(4, requires_grad=True)
    with pytest.raises(
        ember.AutogradError, match="nll_loss: the loss is not differentiable with respect to weight"
    ):
        F.nll_loss(_logits(3, 4), ember.tensor([0, 1, 2]), weight=w)
    with ember.no_grad():
        F.nll_loss(_logits(3, 4), ember.tensor([0, 1, 2]), weight=w)


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss, F.binary_cross_entropy])
def test_invalid_reduction(fn):
    target = ember.tensor([0, 1, 2]) if fn is not F.binary_cross_entropy else ember.rand(3, 4)
    with pytest.raises(
        EmberValueError, match=rf"{fn.__name__}: 'avg' is not a valid value for reduction"
    ):
        fn(ember.rand(3, 4), target, reduction="avg")


def test_label_smoothing_range():
    with pytest.raises(
        EmberValueError, match="cross_entropy: label_smoothing must be between 0.0 and 1.0, got 1.5"
    ):
        F.cross_entropy(_logits(3, 4), ember.tensor([0, 1, 2]), label_smoothing=1.5)


def test_class_losses_need_float_input_with_a_class_dim():
    with pytest.raises(
        ember.DTypeError, match="cross_entropy: expected a floating-point input, got int64"
    ):
        F.cross_entropy(ember.tensor([[1, 2]]), ember.tensor([0]))
    with pytest.raises(
        ember.ShapeError,
        match=r"nll_loss: expected input of shape \(C,\) or "
        r"\(N, C, ...\), got shape \(\)",
    ):
        F.nll_loss(ember.tensor(1.0), ember.tensor(0))


def test_binary_cross_entropy_errors():
    x = ember.rand(3)
    with pytest.raises(
        ember.ShapeError,
        match=r"binary_cross_entropy: target shape \(2, 3\) "
        r"must be the same as input shape \(3,\)",
    ):
        F.binary_cross_entropy(x, ember.rand(2, 3))
    with pytest.raises(
        ember.DTypeError,
        match="binary_cross_entropy: target dtype float64 does not match input dtype float32",
    ):
        F.binary_cross_entropy(x, ember.rand(3).double())
    with pytest.raises(
        EmberValueError,
        match="binary_cross_entropy: all elements of input should be between 0 and 1",
    ):
        F.binary_cross_entropy(ember.tensor([0.5, 1.5]), ember.rand(2))
    with pytest.raises(
        ember.ShapeError,
        match=r"binary_cross_entropy: weight of shape \(4,\) "
        r"cannot be broadcast to the loss shape \(3,\)",
    ):
        F.binary_cross_entropy(x, ember.rand(3), weight=ember.ones(4))
