"""A whole LSTM layer direction as one primitive: the per-time-step recurrence.

Composed from ops, an LSTM time step is ~15 dispatches forward and as many VJPs backward,
and ``chunk``'s VJP pads each gate's gradient to the full width: on the benchmark's sequence
of 32 steps that is ~1000 small ops. Here the loop runs inside one NumPy forward, and the
first-order backward is one NumPy loop too (raw arrays, no dispatch per step): the factors
that do not depend on the incoming gradient are computed for all steps at once from the
saved gate activations, the loop does the sequential part (seven small ops and one GEMM per
step), and one GEMM at the end gives the recurrent weight's gradient.

Inside ``ember.compile`` the same NumPy backward is recorded as one ``lstm_sequence_grad``
node (its results packed into one vector), so compiled training matches eager bit for bit.
Higher-order gradients (``create_graph=True``) need a backward made of differentiable ops:
there the VJP replays the recurrence with ordinary ops and asks autograd for its gradient.

Inputs: ``proj`` (L, N, 4H), the input projection of the whole sequence with both biases;
``h0``, ``c0`` (N, H); ``w_hh`` (4H, H). Output (L, N, 6H): the hidden state h_t in
``[..., :H]``, the cell state c_t in ``[..., H:2H]`` and the activated gates (input, forget,
cell, output: PyTorch's order) in ``[..., 2H:]``, which the backward reads instead of
recomputing them. ``reverse`` runs from the last step to the first.
"""

from __future__ import annotations

import numpy as np

from ember.errors import DTypeError, ShapeError
from ember.ops import registry, rules
from ember.ops.registry import OPS, _tensor_type, needs_input_grad, primitive

FLOATS = (np.float16, np.float32, np.float64)


def _shape(proj, h0, c0, w_hh, *, reverse):
    if len(proj) != 3 or len(w_hh) != 2 or proj[2] % 4 or w_hh[0] != proj[2]:
        raise ShapeError(
            f"lstm_sequence: projections {rules.fmt(proj)} and recurrent weight {rules.fmt(w_hh)} "
            "do not fit (L, N, 4H) and (4H, H)"
        )
    n, h = proj[1], proj[2] // 4
    if tuple(h0) != (n, h) or tuple(c0) != (n, h) or w_hh[1] != h:
        raise ShapeError(
            f"lstm_sequence: states {rules.fmt(h0)}, {rules.fmt(c0)} and weight {rules.fmt(w_hh)} "
            f"do not fit batch {n} and hidden size {h}"
        )
    return (proj[0], n, 6 * h)


def _order(length: int, reverse: bool):
    return range(length - 1, -1, -1) if reverse else range(length)


def _gate_affine(hidden, dtype):
    """(scale, shift) per gate column: sigmoid(x) = 0.5 * tanh(x / 2) + 0.5 on i, f, o and
    tanh on g, so one tanh call activates all four gates."""
    half = np.full(4 * hidden, 0.5, dtype)
    half[2 * hidden : 3 * hidden] = 1.0
    shift = np.full(4 * hidden, 0.5, dtype)
    shift[2 * hidden : 3 * hidden] = 0.0
    return half, shift


def _dtype(*dtypes, **_):
    if any(d != dtypes[0] for d in dtypes):
        raise DTypeError(
            "lstm_sequence: projections, states and weight must have one dtype, got "
            + ", ".join(np.dtype(d).name for d in dtypes)
        )
    return dtypes[0]


@primitive("lstm_sequence", shape=_shape, dtype=_dtype, save="both", dtypes=FLOATS)
def lstm_sequence(proj, h0, c0, w_hh, *, reverse):
    """The LSTM recurrence over a sequence (see the module doc)."""
    _shape(proj.shape, h0.shape, c0.shape, w_hh.shape, reverse=reverse)  # no silent broadcast
    _dtype(proj.dtype, h0.dtype, c0.dtype, w_hh.dtype)
    length, n, g4 = proj.shape
    hidden = g4 // 4
    half, shift = _gate_affine(hidden, proj.dtype)
    out = np.empty((length, n, 6 * hidden), proj.dtype)
    tmp = np.empty((n, hidden), proj.dtype)
    w_t = w_hh.T
    h, c = h0, c0
    for t in _order(length, reverse):
        acts = out[t, :, 2 * hidden :]
        np.matmul(h, w_t, out=acts)
        acts += proj[t]
        acts *= half
        np.tanh(acts, out=acts)
        acts *= half
        acts += shift
        i, f, g, o = (acts[:, k * hidden : (k + 1) * hidden] for k in range(4))
        c_new = out[t, :, hidden : 2 * hidden]
        np.multiply(f, c, out=c_new)
        np.multiply(i, g, out=tmp)
        c_new += tmp
        h = out[t, :, :hidden]
        np.tanh(c_new, out=h)
        h *= o
        c = c_new
    return out


@lstm_sequence.defvjp
def _(g_out, out, proj, h0, c0, w_hh, *, reverse):
    weight = needs_input_grad(3)
    if not isinstance(g_out, _tensor_type[0]):  # the eager first-order backward: arrays
        return _backward(g_out, out, proj, h0, c0, w_hh, reverse, weight)
    if registry.grad_enabled[0]:  # create_graph: a VJP made of differentiable ops
        return _composed_vjp(g_out, proj, h0, c0, w_hh, reverse)
    # tracing (ember.compile): the same NumPy backward, recorded as one node
    packed = OPS["lstm_sequence_grad"](
        g_out, out, proj, h0, c0, w_hh, reverse=reverse, weight=weight
    )
    return _unpack(packed, proj.shape, weight)


def _grad_shape(g_out, out, proj, h0, c0, w_hh, *, reverse, weight):
    length, n, g4 = proj
    return (length * n * g4 + 2 * n * (g4 // 4) + (g4 * g4 // 4 if weight else 0),)


@primitive("lstm_sequence_grad", shape=_grad_shape, dtype=rules.same_dtype, dtypes=FLOATS)
def lstm_sequence_grad(g_out, out, proj, h0, c0, w_hh, *, reverse, weight):
    """``lstm_sequence``'s first-order gradients packed into one vector (d_proj, dh0, dc0 and,
    when ``weight``, d_w_hh, each flattened): how a compiled graph records the backward."""
    grads = _backward(g_out, out, proj, h0, c0, w_hh, reverse, weight)
    return np.concatenate([a.reshape(-1) for a in grads if a is not None])


def _unpack(packed, proj_shape, weight):
    length, n, g4 = proj_shape
    hidden = g4 // 4
    shapes = [(length, n, g4), (n, hidden), (n, hidden)] + ([(g4, hidden)] if weight else [])
    out, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(packed[start : start + size].reshape(shape))
        start += size
    return (*out, None) if not weight else tuple(out)


def _backward(g_out, out, proj, h0, c0, w_hh, reverse, weight):
    length, n, g4 = proj.shape
    hidden = g4 // 4
    order = list(_order(length, reverse))
    prev = [None] + order[:-1]  # the step whose state each step read
    h_seq, c_seq, acts = out[..., :hidden], out[..., hidden : 2 * hidden], out[..., 2 * hidden :]
    h_prev = np.empty((length, n, hidden), proj.dtype)
    c_prev = np.empty((length, n, hidden), proj.dtype)
    for t, p in zip(order, prev):
        h_prev[t], c_prev[t] = (h0, c0) if p is None else (h_seq[p], c_seq[p])
    # everything that does not depend on the incoming gradient, for all steps at once
    i, f, g, o = (acts[..., k * hidden : (k + 1) * hidden] for k in range(4))
    tc = np.tanh(c_seq)
    # d(gates) = [dc * g * i', dc * c_prev * f', dc * i * g', dh * tanh(c) * o']
    factors = np.empty((length, n, 3, hidden), proj.dtype)
    np.multiply(g, i * (1 - i), out=factors[:, :, 0])
    np.multiply(c_prev, f * (1 - f), out=factors[:, :, 1])
    np.multiply(i, 1 - g * g, out=factors[:, :, 2])
    out_factor = tc * (o * (1 - o))
    dc_from_h = o * (1 - tc * tc)
    d_proj = np.empty(proj.shape, proj.dtype)
    dh = np.zeros((n, hidden), proj.dtype)
    dc = np.zeros((n, hidden), proj.dtype)
    tmp = np.empty((n, hidden), proj.dtype)
    for t in reversed(order):
        dh += g_out[t, :, :hidden]
        dc += g_out[t, :, hidden : 2 * hidden]
        np.multiply(dh, dc_from_h[t], out=tmp)
        dc += tmp
        dg = d_proj[t]
        np.multiply(dc[:, None, :], factors[t], out=dg[:, : 3 * hidden].reshape(n, 3, hidden))
        np.multiply(dh, out_factor[t], out=dg[:, 3 * hidden :])
        dc *= f[t]
        np.matmul(dg, w_hh, out=dh)
    d_w = None
    if weight:
        d_w = np.matmul(d_proj.reshape(-1, g4).T, h_prev.reshape(-1, hidden))
    return d_proj, dh, dc, d_w


def reference(proj, h0, c0, w_hh, reverse):
    """The recurrence written with differentiable ops (Tensors in, the output Tensor out)."""
    from ember.api.shape import cat, stack

    h, c = h0, c0
    seq = [None] * proj.shape[0]
    for t in _order(proj.shape[0], reverse):
        gates = proj[t] + h.matmul(w_hh.transpose(0, 1))
        i, f, g, o = gates.chunk(4, -1)
        i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        seq[t] = cat([h, c, i, f, g, o], -1)
    return stack(seq)


def _composed_vjp(g_out, proj, h0, c0, w_hh, reverse):
    from ember.core.autograd import grad

    inputs = [proj, h0, c0, w_hh]
    wanted = [i for i in range(4) if needs_input_grad(i)]
    with _enable_grad():
        leaves = list(inputs)
        for i in wanted:
            if not leaves[i].requires_grad:
                leaves[i] = leaves[i].detach().requires_grad_()
        res = reference(*leaves, reverse)
        gs = grad([res], [leaves[i] for i in wanted], [g_out], create_graph=True, allow_unused=True)
    out = [None] * 4
    for i, gi in zip(wanted, gs):
        out[i] = gi
    return tuple(out)


def _enable_grad():
    from ember.core.grad_mode import enable_grad

    return enable_grad()
