"""Pointwise losses and binary_cross_entropy_with_logits against PyTorch: values, gradients
w.r.t. input and target (and weights where PyTorch differentiates them), gradcheck and
gradgradcheck (piecewise losses are sampled away from their kinks), and error paths."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F
from ember.errors import EmberValueError
from ember.testing.optest import OpCase, params, run_case

from .loss_helpers import _c, _i, _n, _trim, _u

# PyTorch's notice that kl_div's 'mean' will change meaning in a future release
pytestmark = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")

REDUCTIONS = ("mean", "sum", "none")
PAIR_SHAPES = [((), ()), ((5,), (5,)), ((3, 4), (3, 4)), ((0, 3), (0, 3)), ((2, 3, 4), (2, 3, 4))]


def pair_make(*, kinks=(0.0,), lo=-2.0, hi=2.0, weight=False):
    """input, target = input - d with |d| at least 0.05 away from every kink [, weight]."""

    def make(rng, dtype, shapes):
        x = _u(rng, lo, hi, shapes[0])
        d = _u(rng, 0.05, 2.5, shapes[0])
        for k in kinks:
            d = np.where(np.abs(d - k) < 0.05, d + 0.1, d)
        d *= _c(rng, [-1.0, 1.0], shapes[0])
        out = [x.astype(dtype), (x - d).astype(dtype)]
        if weight:
            out.append(_u(rng, 0.5, 2.0, shapes[0]).astype(dtype))
        return out

    return make


def _case(name, fn, ref, make, shapes=PAIR_SHAPES, **kw):
    def arrays(rng, dtype, shapes):  # 0-dim arithmetic gives NumPy scalars: make them arrays
        return [np.asarray(a) for a in make(rng, dtype, shapes)]

    return OpCase(name, fn, ref, shapes=shapes, make=arrays, **kw)


def _both(fn_name, **kw):
    """(ember function, torch function) applying the same keyword arguments."""
    return (
        lambda *a: getattr(F, fn_name)(*a, **kw),
        lambda *a: getattr(TF, fn_name)(*a, **kw),
    )


CASES = []
for r in REDUCTIONS:
    CASES += [
        _case(f"mse_loss-{r}", *_both("mse_loss", reduction=r), pair_make()),
        _case(f"l1_loss-{r}", *_both("l1_loss", reduction=r), pair_make()),
        _case(
            f"mse_loss-weight-{r}",
            lambda x, y, w, r=r: F.mse_loss(x, y, reduction=r, weight=w),
            lambda x, y, w, r=r: TF.mse_loss(x, y, reduction=r, weight=w),
            pair_make(weight=True),
        ),
        _case(
            f"l1_loss-weight-{r}",
            lambda x, y, w, r=r: F.l1_loss(x, y, reduction=r, weight=w),
            lambda x, y, w, r=r: TF.l1_loss(x, y, reduction=r, weight=w),
            pair_make(weight=True),
        ),
        _case(
            f"huber_loss-weight-{r}",
            lambda x, y, w, r=r: F.huber_loss(x, y, reduction=r, weight=w, delta=0.7),
            lambda x, y, w, r=r: TF.huber_loss(x, y, reduction=r, weight=w, delta=0.7),
            pair_make(kinks=(0.0, 0.7), weight=True),
        ),
    ]
    for beta in (1.0, 0.5, 0.0):
        CASES.append(
            _case(
                f"smooth_l1_loss-beta{beta}-{r}",
                *_both("smooth_l1_loss", reduction=r, beta=beta),
                pair_make(kinks=(0.0, beta)),
            )
        )
    for delta in (1.0, 2.5):
        CASES.append(
            _case(
                f"huber_loss-delta{delta}-{r}",
                *_both("huber_loss", reduction=r, delta=delta),
                pair_make(kinks=(0.0, delta)),
            )
        )


# ---- kl_div, poisson_nll_loss, soft_margin_loss, margin_ranking_loss -------------------------


def kl_make(*, zeros=False):
    def make(rng, dtype, shapes):
        x = np.log(_u(rng, 0.05, 1.0, shapes[0]))
        t = _u(rng, 0.05, 1.0, shapes[1])
        if zeros and t.size > 1:
            t.flat[::2] = 0.0
        return [x.astype(dtype), t.astype(dtype)]

    return make


def kl_log_make(rng, dtype, shapes):
    x, t = kl_make()(rng, dtype, shapes)
    return [x, np.log(t)]


for r in REDUCTIONS + ("batchmean",):
    CASES += [
        _case(f"kl_div-{r}", *_both("kl_div", reduction=r), kl_make()),
        _case(
            f"kl_div-log_target-{r}", *_both("kl_div", reduction=r, log_target=True), kl_log_make
        ),
    ]
CASES += [
    # zero targets: xlogy(0, 0) = 0; PyTorch's target gradient there is nan, so only the input's
    _case("kl_div-zero-targets", *_both("kl_div", reduction="sum"), kl_make(zeros=True), diff=(0,)),
    _case(
        "kl_div-broadcast-target",
        *_both("kl_div", reduction="sum"),
        kl_make(),
        shapes=[((3, 4), (4,)), ((2, 1, 3), (4, 1))],
    ),
]


def poisson_make(*, log_input, counts=False):
    def make(rng, dtype, shapes):
        x = _u(rng, -1.0, 1.5, shapes[0]) if log_input else _u(rng, 0.1, 3.0, shapes[0])
        if counts:
            t = _i(rng, 0, 5, shapes[1]).astype(float)
        else:
            t = _u(rng, 0.2, 4.0, shapes[1])
        return [x.astype(dtype), t.astype(dtype)]

    return make


for r in REDUCTIONS:
    for log_input in (True, False):
        for full in (False, True):
            CASES.append(
                _case(
                    f"poisson_nll_loss-log{log_input}-full{full}-{r}",
                    *_both("poisson_nll_loss", log_input=log_input, full=full, reduction=r),
                    poisson_make(log_input=log_input),
                    tol={"float16": (2e-2, 2e-2)},
                )
            )
CASES.append(
    _case(
        "poisson_nll_loss-full-integer-counts",
        *_both("poisson_nll_loss", full=True, reduction="sum"),
        poisson_make(log_input=True, counts=True),
        diff=(0,),  # PyTorch's target gradient of the Stirling term is nan at 0
        tol={"float16": (2e-2, 5e-2)},
    )
)


def sign_make(n_inputs):
    def make(rng, dtype, shapes):
        xs = [_u(rng, -2, 2, s).astype(dtype) for s in shapes[:n_inputs]]
        return xs + [_c(rng, [-1.0, 1.0], shapes[n_inputs]).astype(dtype)]

    return make


TRIPLE_SHAPES = [((), (), ()), ((5,), (5,), (5,)), ((3, 4), (3, 4), (3, 4)), ((0,), (0,), (0,))]
for r in REDUCTIONS:
    CASES.append(
        _case(
            f"soft_margin_loss-{r}",
            *_both("soft_margin_loss", reduction=r),
            sign_make(1),
            diff=(0,),
        )
    )
    for margin in (0.0, 0.5):
        CASES.append(
            _case(
                f"margin_ranking_loss-m{margin}-{r}",
                *_both("margin_ranking_loss", margin=margin, reduction=r),
                sign_make(2),
                shapes=TRIPLE_SHAPES,
            )
        )


# ---- binary_cross_entropy_with_logits -----------------------------------------------------------


def logit_make(*, weight=False, pos_weight=False, scale=3.0):
    def make(rng, dtype, shapes):
        x = _n(rng, shapes[0]) * scale
        out = [x.astype(dtype), _u(rng, 0, 1, shapes[1]).astype(dtype)]
        last = shapes[0][-1:]
        if weight:
            out.append(_u(rng, 0.5, 2.0, last).astype(dtype))
        if pos_weight:
            out.append(_u(rng, 0.5, 3.0, last).astype(dtype))
        return out

    return make


for r in REDUCTIONS:
    CASES += [
        _case(
            f"bce_with_logits-{r}",
            *_both("binary_cross_entropy_with_logits", reduction=r),
            logit_make(),
        ),
        _case(
            f"bce_with_logits-weights-{r}",
            lambda x, y, w, pw, r=r: F.binary_cross_entropy_with_logits(
                x, y, w, reduction=r, pos_weight=pw
            ),
            lambda x, y, w, pw, r=r: TF.binary_cross_entropy_with_logits(
                x, y, w, reduction=r, pos_weight=pw
            ),
            logit_make(weight=True, pos_weight=True),
            diff=(0, 1),  # PyTorch refuses gradients for weight and pos_weight
        ),
    ]
CASES.append(
    _case(
        "bce_with_logits-huge-logits",
        *_both("binary_cross_entropy_with_logits", reduction="none"),
        logit_make(scale=60.0),
        shapes=[((4, 5), (4, 5))],
    )
)


# ---- hinge_embedding_loss, multilabel_soft_margin_loss, cosine_embedding_loss -----------------


def multilabel_make(*, weight=False):
    def make(rng, dtype, shapes):
        out = [_n(rng, shapes[0]).astype(dtype), _c(rng, [0.0, 1.0], shapes[0]).astype(dtype)]
        if weight:
            out.append(_u(rng, 0.5, 2.0, shapes[0][-1:]).astype(dtype))
        return out

    return make


def cosine_make(rng, dtype, shapes):
    a, b = (_n(rng, shapes[0]).astype(dtype) for _ in range(2))
    return [a, b, _c(rng, [-1.0, 1.0], shapes[0][:-1]).astype(dtype)]


MULTI_SHAPES = [((5,),), ((3, 4),), ((0, 4),)]
for r in REDUCTIONS:
    CASES += [
        _case(
            f"hinge_embedding_loss-{r}",
            *_both("hinge_embedding_loss", margin=0.5, reduction=r),
            sign_make(1),
            shapes=[((), ()), ((5,), (5,)), ((3, 4), (3, 4)), ((0,), (0,))],
            diff=(0,),  # a target off +-1 selects neither branch: no derivative
        ),
        _case(
            f"multilabel_soft_margin_loss-{r}",
            *_both("multilabel_soft_margin_loss", reduction=r),
            multilabel_make(),
            shapes=MULTI_SHAPES,
        ),
        _case(
            f"multilabel_soft_margin_loss-weight-{r}",
            lambda x, y, w, r=r: F.multilabel_soft_margin_loss(x, y, w, reduction=r),
            lambda x, y, w, r=r: TF.multilabel_soft_margin_loss(x, y, w, reduction=r),
            multilabel_make(weight=True),
            shapes=MULTI_SHAPES,
        ),
        _case(
            f"cosine_embedding_loss-{r}",
            *_both("cosine_embedding_loss", margin=0.2, reduction=r),
            cosine_make,
            shapes=[((4,),), ((5, 3),), ((0, 3),)],
            diff=(0, 1),  # the target only selects a branch: its gradient is 0 in both
        ),
    ]


@pytest.mark.parametrize("case, dtype", params(_trim(CASES)))
def test_pointwise_losses(case, dtype):
    run_case(case, dtype)


def test_broadcast_target_warns_and_matches_torch():
    rng = np.random.default_rng(0)
    x, y = _n(rng, (2, 3)), _n(rng, 3)
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        with pytest.warns(
            UserWarning,
            match=rf"{name}: using a target size \(3,\) that is "
            r"different to the input size \(2, 3\)",
        ):
            got = getattr(F, name)(ember.tensor(x), ember.tensor(y))
        with pytest.warns(UserWarning):
            expected = getattr(TF, name)(torch.tensor(x), torch.tensor(y))
        np.testing.assert_allclose(got.item(), expected.item(), rtol=1e-12)


def test_mixed_dtypes_promote_like_torch():
    x32, y64 = np.ones(3, np.float32), np.arange(3.0)
    for name in ("mse_loss", "l1_loss", "kl_div", "poisson_nll_loss"):
        got = getattr(F, name)(ember.tensor(x32), ember.tensor(y64))
        expected = getattr(TF, name)(torch.tensor(x32), torch.tensor(y64))
        assert got.dtype.name == str(expected.dtype).replace("torch.", ""), name
        np.testing.assert_allclose(got.item(), expected.item(), rtol=1e-6)


# ---- errors -----------------------------------------------------------------------------------


def test_negative_beta_and_delta_rejected():
    x = ember.ones(3)
    with pytest.raises(
        EmberValueError, match="smooth_l1_loss: beta must be non-negative, got -1.0"
    ):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(EmberValueError, match="huber_loss: delta must be positive, got 0.0"):
        F.huber_loss(x, x, delta=0.0)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_weight_shape_must_match_input(name):
    x = ember.ones(3)
    with pytest.raises(
        ember.ShapeError,
        match=rf"{name}: weight shape \(2,\) must be the same "
        r"as input shape \(3,\)",
    ):
        getattr(F, name)(x, x, weight=ember.ones(2))


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_unbroadcastable_target(name):
    with pytest.raises(
        ember.ShapeError,
        match=rf"{name}: input and target: shapes \(3,\) and "
        r"\(4,\) cannot be broadcast",
    ):
        getattr(F, name)(ember.ones(3), ember.ones(4))


def test_integer_inputs_rejected():
    i = ember.tensor([1, 2])
    with pytest.raises(
        ember.DTypeError,
        match="mse_loss: expected floating-point input or target, got int64 and int64",
    ):
        F.mse_loss(i, i)
    with pytest.raises(ember.DTypeError, match="l1_loss: expected target to be a Tensor, got list"):
        F.l1_loss(ember.ones(2), [1.0, 2.0])


@pytest.mark.parametrize(
    "name", ["mse_loss", "l1_loss", "kl_div", "poisson_nll_loss", "soft_margin_loss"]
)
def test_invalid_reduction(name):
    x = ember.ones(3)
    with pytest.raises(
        EmberValueError,
        match=rf"{name}: 'batchmean' is not a valid value for "
        "reduction"
        if name != "kl_div"
        else r"kl_div: 'avg' is not a valid",
    ):
        getattr(F, name)(x, x, reduction="avg" if name == "kl_div" else "batchmean")


def test_margin_ranking_loss_dims():
    with pytest.raises(
        ember.ShapeError,
        match=r"margin_ranking_loss: all input tensors should "
        r"have the same number of dimensions, got shapes input1 \(3,\), input2 "
        r"\(3,\), target \(1, 3\)",
    ):
        F.margin_ranking_loss(ember.ones(3), ember.ones(3), ember.ones(1, 3))


def test_soft_margin_loss_target_must_fit_input():
    with pytest.raises(
        ember.ShapeError,
        match=r"soft_margin_loss: target of shape \(2, 3\) "
        r"does not broadcast to the input shape \(3,\)",
    ):
        F.soft_margin_loss(ember.ones(3), ember.ones(2, 3))


def test_bce_with_logits_errors():
    x = ember.randn(3)
    with pytest.raises(
        ember.ShapeError,
        match=r"binary_cross_entropy_with_logits: target "
        r"shape \(2, 3\) must be the same as input shape \(3,\)",
    ):
        F.binary_cross_entropy_with_logits(x, ember.rand(2, 3))
    with pytest.raises(
        ember.DTypeError,
        match="binary_cross_entropy_with_logits: target "
        "dtype float64 does not match input dtype float32",
    ):
        F.binary_cross_entropy_with_logits(x, ember.rand(3).double())
    with pytest.raises(
        ember.AutogradError,
        match="binary_cross_entropy_with_logits: the loss "
        "is not differentiable with respect to pos_weight",
    ):
        F.binary_cross_entropy_with_logits(
            x, ember.rand(3), pos_weight=ember.ones(3, requires_grad=True)
        )
    with pytest.raises(
        ember.ShapeError,
        match=r"binary_cross_entropy_with_logits: pos_weight "
        r"of shape \(2,\) cannot be broadcast to the loss shape \(3,\)",
    ):
        F.binary_cross_entropy_with_logits(x, ember.rand(3), pos_weight=ember.ones(2))


def test_cosine_embedding_loss_shapes():
    x = ember.randn(2, 3)
    with pytest.raises(
        ember.ShapeError,
        match=r"cosine_embedding_loss: a 1-dim target expects "
        r"two 2-dim inputs of one shape, got \(3,\) and \(3,\)",
    ):
        F.cosine_embedding_loss(ember.ones(3), ember.ones(3), ember.ones(3))
    with pytest.raises(
        ember.ShapeError,
        match=r"cosine_embedding_loss: a 1-dim target expects "
        r"two 2-dim inputs of one shape, got \(2, 3\) and \(2, 4\)",
    ):
        F.cosine_embedding_loss(x, ember.ones(2, 4), ember.ones(2))
    with pytest.raises(
        ember.ShapeError,
        match=r"cosine_embedding_loss: target shape \(3,\) "
        r"does not match the 2 input pairs",
    ):
        F.cosine_embedding_loss(x, x, ember.ones(3))
    with pytest.raises(
        ember.ShapeError,
        match=r"cosine_embedding_loss: expected a 0-dim or "
        r"1-dim target, got \(2, 1\)",
    ):
        F.cosine_embedding_loss(x, x, ember.ones(2, 1))


def test_multilabel_soft_margin_loss_shapes():
    with pytest.raises(
        ember.ShapeError,
        match=r"multilabel_soft_margin_loss: target shape "
        r"\(3,\) must be the same as input shape \(2, 3\)",
    ):
        F.multilabel_soft_margin_loss(ember.ones(2, 3), ember.ones(3))
