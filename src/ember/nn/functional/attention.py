"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

>>> import ember
>>> import ember.nn.functional as F
>>> q = k = v = ember.randn(2, 4, 5, 8)
>>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
(2, 4, 5, 8)
"""

from __future__ import annotations

import math

import numpy as np

from ember.core.creation import tensor
from ember.core.tensor import Tensor
from ember.errors import DTypeError, ShapeError
from ember.nn.functional.basic import dropout, linear
from ember.nn.functional.softmax import softmax
from ember.ops.elementwise import where as _where

__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]


def _bool_to_additive(mask, data, if_true: float, if_false: float, dtype):
    """A bool mask as an additive float mask. A tensor's mask goes through the ``where`` op so
    that a compiled graph reads the mask of every call (a NumPy result would be a constant
    of the graph); a mask given as Python data or an array is a constant anyway."""
    if isinstance(mask, Tensor):
        return _where(mask, if_true, if_false).to(dtype)
    return tensor(np.where(data, if_true, if_false), dtype=dtype)


def _additive(mask, dtype, what: str):
    """A boolean mask (True = blocked, as PyTorch's MHA) or a float mask, as an additive one."""
    if mask is None:
        return None
    data = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if data.dtype == np.bool_:
        return _bool_to_additive(mask, data, -np.inf, 0.0, dtype)
    if data.dtype.kind != "f":
        raise DTypeError(f"{what}: only bool and floating masks are supported, got {data.dtype}")
    return mask.to(dtype) if isinstance(mask, Tensor) else tensor(data, dtype=dtype)


def scaled_dot_product_attention(
    query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None
):
    """softmax(q k^T * scale + mask) v over the last two dims.

    As in ``torch.nn.functional.scaled_dot_product_attention``, a boolean ``attn_mask`` marks
    the positions that MAY be attended (True = keep); a float mask is added to the scores.
    """
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ShapeError(
            f"scaled_dot_product_attention: incompatible shapes query {tuple(query.shape)}, "
            f"key {tuple(key.shape)}, value {tuple(value.shape)}"
        )
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query * scale) @ key.transpose(-2, -1)
    L, S = query.shape[-2], key.shape[-2]
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: pass attn_mask or is_causal, not both")
        scores = scores + tensor(np.triu(np.full((L, S), -np.inf), 1), dtype=query.dtype)
    elif attn_mask is not None:
        data = attn_mask._data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        if data.dtype == np.bool_:
            attn_mask = _bool_to_additive(attn_mask, data, 0.0, -np.inf, query.dtype)
        scores = scores + attn_mask
    weights = softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    return weights @ value


def multi_head_attention_forward(
    query,
    key,
    value,
    num_heads,
    in_proj_weight,
    in_proj_bias,
    out_proj_weight,
    out_proj_bias,
    key_padding_mask=None,
    need_weights=True,
    attn_mask=None,
    dropout_p=0.0,
    training=True,
    average_attn_weights=True,
    q_proj_weight=None,
    k_proj_weight=None,
    v_proj_weight=None,
):
    """PyTorch's multi-head attention on (L, N, E) inputs (or unbatched (L, E)).

    Returns ``(output, weights)``; weights are averaged over heads unless
    ``average_attn_weights=False``, and None when ``need_weights=False``. Boolean masks mark
    positions that may NOT be attended (True = blocked), as ``nn.MultiheadAttention`` does.
    """
    unbatched = query.ndim == 2
    if unbatched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    L, N, E = query.shape
    S = key.shape[0]
    if E % num_heads:
        raise ShapeError(
            f"multi_head_attention: embed_dim {E} is not divisible by num_heads {num_heads}"
        )
    D = E // num_heads
    q, k, v = _project(
        query, key, value, in_proj_weight, in_proj_bias, q_proj_weight, k_proj_weight, v_proj_weight
    )
    # (L, N, E) -> (N, heads, L, D)
    q = q.reshape(L, N, num_heads, D).permute(1, 2, 0, 3)
    k = k.reshape(S, N, num_heads, D).permute(1, 2, 0, 3)
    v = v.reshape(S, N, num_heads, D).permute(1, 2, 0, 3)
    mask = _merge_masks(attn_mask, key_padding_mask, N, num_heads, L, S, q.dtype)
    scores = (q * (1.0 / math.sqrt(D))) @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores + mask
    weights = softmax(scores, -1)
    if dropout_p > 0.0 and training:
        weights = dropout(weights, dropout_p, True)
    out = (weights @ v).permute(2, 0, 1, 3).reshape(L, N, E)
    out = linear(out, out_proj_weight, out_proj_bias)
    if unbatched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    if average_attn_weights:
        weights = weights.mean(1)
    return out, (weights.squeeze(0) if unbatched else weights)


def _project(query, key, value, w, b, wq, wk, wv):
    if w is None:
        bq = bk = bv = None
        if b is not None:
            bq, bk, bv = b.chunk(3)
        return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)
    if query is key and key is value:  # self-attention: one GEMM for q, k and v
        return linear(query, w, b).chunk(3, -1)
    wq, wk, wv = w.chunk(3)
    bq, bk, bv = b.chunk(3) if b is not None else (None, None, None)
    return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)


def _merge_masks(attn_mask, key_padding_mask, N, H, L, S, dtype):
    """One additive mask broadcastable to (N, H, L, S)."""
    mask = _additive(attn_mask, dtype, "attn_mask")
    if mask is not None:
        if mask.ndim == 2:
            if tuple(mask.shape) != (L, S):
                raise ShapeError(f"attn_mask: expected shape {(L, S)}, got {tuple(mask.shape)}")
        elif mask.ndim == 3 and tuple(mask.shape) == (N * H, L, S):
            mask = mask.reshape(N, H, L, S)
        else:
            raise ShapeError(
                f"attn_mask: expected shape {(L, S)} or {(N * H, L, S)}, got {tuple(mask.shape)}"
            )
    kpm = _additive(key_padding_mask, dtype, "key_padding_mask")
    if kpm is not None:
        if tuple(kpm.shape) != (N, S):
            raise ShapeError(f"key_padding_mask: expected shape {(N, S)}, got {tuple(kpm.shape)}")
        kpm = kpm.reshape(N, 1, 1, S)
        mask = kpm if mask is None else mask + kpm
    return mask
