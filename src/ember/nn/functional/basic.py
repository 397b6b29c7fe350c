"""Basic layers as functions: ``linear``, ``bilinear``, dropout variants, ``embedding`` and
``one_hot``.

>>> import ember
>>> import ember.nn.functional as F
>>> F.linear(ember.ones(2, 3), ember.ones(4, 3), ember.zeros(4)).shape
(2, 4)
"""

from __future__ import annotations

import math

import numpy as np

from ember.core import random as _random
from ember.core.inplace import inplace
from ember.core.tensor import Tensor, _wrap
from ember.core.trace_hooks import tracer as _tracer
from ember.core.trace_hooks import value_read as _value_read
from ember.errors import DTypeError, EmberIndexError, EmberValueError, ShapeError
from ember.ops import elementwise as E
from ember.ops import linalg as L
from ember.ops import nn as P
from ember.ops import random as R

__all__ = [
    "linear",
    "bilinear",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
    "embedding",
    "one_hot",
]


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: ``input`` is ``(*, in_features)``, ``weight`` is
    ``(out_features, in_features)`` (or ``(in_features,)``), ``bias`` is ``(out_features,)``.

    One fused op: a single GEMM over all leading dims of ``input`` forward, and in backward
    one GEMM each for the input and weight gradients plus a column sum for the bias.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.linear(ember.tensor([[1.0, 2.0]]), ember.tensor([[1.0, 1.0], [0.0, 1.0]]))
    tensor([[3., 2.]])
    """
    if bias is None:
        return P.linear(input, weight)
    return P.linear(input, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    """``y[..., k] = input1[..., i] * weight[k, i, j] * input2[..., j] + bias[k]``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.bilinear(ember.ones(5, 2), ember.ones(5, 3), ember.ones(4, 2, 3)).shape
    (5, 4)
    """
    a, b, w = tuple(input1.shape), tuple(input2.shape), tuple(weight.shape)
    if len(w) != 3 or not a or not b or a[-1] != w[1] or b[-1] != w[2] or a[:-1] != b[:-1]:
        raise ShapeError(
            f"bilinear: input1 {a} and input2 {b} must be (*, in1) and (*, in2) with the same "
            f"leading dims, and weight {w} must be (out, in1, in2)"
        )
    if bias is not None and tuple(bias.shape) != (w[0],):
        raise ShapeError(f"bilinear: bias shape {tuple(bias.shape)} must be ({w[0]},)")
    out = L.einsum(input1, weight, input2, equation=_bilinear_eq(len(a) - 1))
    return out if bias is None else E.add(out, bias)


def _bilinear_eq(n_lead: int) -> str:
    lead = L._LETTERS[:n_lead]
    return f"{lead}i,kij,{lead}j->{lead}k"


# ---- dropout -----------------------------------------------------------------------------


def _check_p(name: str, p) -> float:
    if not 0.0 <= p <= 1.0:
        raise EmberValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def _keep_mask(shape, p: float, dtype) -> np.ndarray:
    """Entries 1/(1-p) with probability 1-p, else 0, from ember's default generator."""
    if p == 1.0:
        return np.zeros(shape, dtype)
    keep = _random.default_generator.np.random(shape, dtype=np.float32) >= p
    return np.multiply(keep, 1.0 / (1.0 - p), dtype=dtype)


def _float_input(name: str, input) -> None:
    if not input.is_floating_point():
        raise DTypeError(f"{name}: expected a floating-point input, got {input.dtype.name}")


def _traced_mask(mask_shape, p: float, dtype, tracer) -> Tensor:
    """The mask as a ``bernoulli_mask`` node whose seed is a live graph input, drawn afresh
    from the default generator at every call (a mask drawn here would be baked into the
    graph). Compiled masks thus differ from eager ones but are reproducible under
    ``ember.manual_seed``."""
    gen = _random.default_generator
    seed = R.draw_seed(gen.np)
    tracer.capture(seed, get=lambda: R.draw_seed(_random.default_generator.np), name="seed")
    return R.bernoulli_mask(_wrap(seed), shape=tuple(mask_shape), p=p, dtype=np.dtype(dtype))


def _apply_mask(name, input, mask_shape, p, inplace_):
    tracer = _tracer[0]
    if tracer is None:
        mask = _keep_mask(mask_shape, p, input._data.dtype)
    else:
        mask = _traced_mask(mask_shape, p, input._data.dtype, tracer)
    if inplace_:
        return inplace(lambda x: E.mul(x, mask), name + "_")(input)
    return E.mul(input, mask)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``
    (training only); the gradient goes through the same mask. Seeded by ``ember.manual_seed``.

    Inside ``ember.compile`` the mask is a graph node fed a fresh seed from the default
    generator at every call: the same distribution and reproducible under
    ``ember.manual_seed``, but not the masks an eager run draws (see ``ember.ops.random``).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.dropout(ember.ones(4), p=0.5, training=False)
    tensor([1., 1., 1., 1.])
    """
    p = _check_p("dropout", p)
    _float_input("dropout", input)
    if not training or p == 0.0:
        return input
    return _apply_mask("dropout", input, input.shape, p, inplace)


def _feature_dropout(name, input, p, training, inplace_, spatial):
    """Channel dropout: one mask entry per (sample, channel), broadcast over ``spatial`` dims;
    an input with one dim fewer has no batch dim."""
    p = _check_p(name, p)
    _float_input(name, input)
    nd = input.ndim
    if nd not in (spatial + 1, spatial + 2):
        raise ShapeError(
            f"{name}: expected {spatial + 1}-D or {spatial + 2}-D input, but received a "
            f"{nd}-D input of shape {tuple(input.shape)}"
        )
    if not training or p == 0.0:
        return input
    lead = 1 if nd == spatial + 1 else 2
    shape = tuple(input.shape[:lead]) + (1,) * (nd - lead)
    return _apply_mask(name, input, shape, p, inplace_)


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` input with probability ``p``."""
    return _feature_dropout("dropout1d", input, p, training, inplace, 1)


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels of ``(N, C, H, W)`` input with probability ``p``; 3-D input is
    taken as ``(N, C, L)``, as PyTorch currently does."""
    if input.ndim == 3:
        return _feature_dropout("dropout2d", input, p, training, inplace, 1)
    return _feature_dropout("dropout2d", input, p, training, inplace, 2)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input."""
    return _feature_dropout("dropout3d", input, p, training, inplace, 3)


_SELU_ALPHA = -1.7580993408473766  # -scale * alpha of SELU: the value SELU saturates at


def _alpha(name, input, p, training, inplace_, mask_shape):
    p = _check_p(name, p)
    _float_input(name, input)
    if not training or p == 0.0:
        return input
    dt = input._data.dtype
    if p == 1.0:
        return _apply_mask(name, input, input.shape, 1.0, inplace_)
    tracer = _tracer[0]
    if tracer is not None:  # select the SELU saturation value where the mask is zero
        keep = _traced_mask(mask_shape, p, np.float32, tracer) > 0.0
    else:
        keep = _random.default_generator.np.random(mask_shape, dtype=np.float32) >= p
    a = 1.0 / math.sqrt((1.0 - p) * (1.0 + p * _SELU_ALPHA**2))
    b = -a * _SELU_ALPHA * p
    if tracer is not None:
        scale = E.cast(keep, dtype=np.dtype(dt)) * a
        shift = E.where(keep, b, a * _SELU_ALPHA + b)
        shift = shift if shift._data.dtype == dt else E.cast(shift, dtype=np.dtype(dt))
    else:
        scale = np.multiply(keep, a, dtype=dt)
        shift = np.where(keep, b, a * _SELU_ALPHA + b).astype(dt)

    def fn(x):
        return E.add(E.mul(x, scale), shift)

    return inplace(fn, name + "_")(input) if inplace_ else fn(input)


def alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False):
    """Dropout for SELU networks: dropped entries become SELU's saturation value and an affine
    map keeps the mean and variance of the input."""
    return _alpha("alpha_dropout", input, p, training, inplace, input.shape)


def feature_alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False):
    """``alpha_dropout`` that drops whole channels (one draw per sample and channel)."""
    if input.ndim < 2:
        raise ShapeError(
            f"feature_alpha_dropout: expected at least 2-D input, got shape {tuple(input.shape)}"
        )
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _alpha("feature_alpha_dropout", input, p, training, inplace, shape)


# ---- embedding ---------------------------------------------------------------------------


def embedding(
    input,
    weight,
    padding_idx=None,
    max_norm=None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
):
    """Look up rows of ``weight`` (num_embeddings, dim) at the integer ``input`` indices.

    Gradients of repeated indices accumulate; the ``padding_idx`` row gets none. With
    ``max_norm``, looked-up rows whose ``norm_type``-norm exceeds it are rescaled in place
    first (as PyTorch does).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> w = ember.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])
    >>> F.embedding(ember.tensor([2, 1]), w)
    tensor([[3., 4.],
            [1., 2.]])
    """
    if weight.ndim != 2:
        raise ShapeError(f"embedding: 'weight' must be 2-D, got shape {tuple(weight.shape)}")
    if input._data.dtype.kind not in "iu":
        raise DTypeError(
            f"embedding: expected indices of type int64 or int32, got {input.dtype.name}"
        )
    if scale_grad_by_freq or sparse:
        raise EmberValueError("embedding: scale_grad_by_freq and sparse are not supported")
    n = weight.shape[0]
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise EmberIndexError(
                f"embedding: padding_idx {padding_idx} must be within num_embeddings ({n})"
            )
        padding_idx = int(padding_idx) % n
    if max_norm is not None:
        _renorm(input, weight, float(max_norm), float(norm_type))
    return P.embedding(input, weight, padding_idx=padding_idx)


def _renorm(input, weight, max_norm, norm_type):
    """Rescale (in place, outside autograd) the looked-up rows whose norm exceeds max_norm."""
    idx = input._data
    if idx.size and (idx.min() < 0 or idx.max() >= weight.shape[0]):
        P._check_indices(idx, weight.shape[0], "embedding: indices")
    rows = np.unique(idx)
    w = weight._data
    norms = np.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        scale = max_norm / (norms[big] + 1e-7)
        w[rows[big]] *= scale[:, None].astype(w.dtype)
        weight._vc[0] += 1  # as an in-place op: a backward that saved the weight will refuse


def one_hot(tensor, num_classes: int = -1):
    """int64 one-hot encoding of an int64 tensor along a new last dim (``num_classes=-1``
    takes ``max + 1``).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.one_hot(ember.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    if not isinstance(tensor, Tensor) or tensor._data.dtype != np.int64:
        dt = tensor.dtype.name if isinstance(tensor, Tensor) else type(tensor).__name__
        raise DTypeError(f"one_hot: only applicable to int64 index tensors, got {dt}")
    if num_classes == -1:
        if tensor.numel() == 0:
            raise EmberValueError(
                "one_hot: can not infer the number of classes from an empty tensor"
            )
        if _value_read[0] is not None:
            _value_read[0](
                "one_hot",
                "num_classes=-1 takes the number of classes from the data (max + 1), which "
                "would fix the output shape of a compiled graph; pass num_classes",
            )
        num_classes = int(tensor._data.max()) + 1
    elif num_classes < 1 and not (num_classes == 0 and tensor.numel() == 0):
        raise EmberValueError(f"one_hot: num_classes must be positive or -1, got {num_classes}")
    return P.one_hot(tensor, num_classes=int(num_classes))
