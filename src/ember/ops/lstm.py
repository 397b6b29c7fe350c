"""A whole LSTM layer direction as one primitive: the per-time-step recurrence.

Composed from ops, an LSTM time step is ~15 dispatches forward and as many VJPs backward,
and ``chunk``'s VJP pads each gate's gradient to the full width: on the benchmark's sequence
of 32 steps that is ~1000 small ops. Here the loop runs inside one NumPy forward, and the
first-order backward is one NumPy loop too (raw arrays, no dispatch per step): the factors
that do not depend on the incoming gradient are computed for all steps at once from the
saved activations, the loop does the sequential part (five small ops and one GEMM per step),
and one GEMM at the end gives the recurrent weight's gradient.

Inside ``ember.compile`` the same NumPy backward is recorded as one ``lstm_sequence_grad``
node (its results packed into one vector), so compiled training matches eager bit for bit.
Higher-order gradients (``create_graph=True``) need a backward made of differentiable ops:
there the VJP replays the recurrence with ordinary ops and asks autograd for its gradient.

Inputs: ``proj`` (L, N, 4H), the input projection of the whole sequence with both biases;
``h0``, ``c0`` (N, H); ``w_hh`` (4H, H). Output (L, 7, N, H), one (N, H) block per step and
quantity: the hidden state h_t in slot 0, the cell state c_t in slot 1, and what the backward
reads instead of recomputing it: tanh(c_t) in slot 2 and the activated gates (input, forget,
cell, output: PyTorch's order) in slots 3 to 6. ``reverse`` runs from the last step to the
first.

With the native kernels (``ember.native.lstm``) each step is one GEMM and one C call, forward
and backward; the NumPy loops here are the fallback without a C compiler. Why their layout
and formulas (they are bound by NumPy passes over small arrays):
every block a step touches is contiguous, which halves the cost of each pass against
column slices of an (N, 4H) row; and one ``exp`` activates all four gates, since
sigmoid(x) = 1 / (1 + exp(-x)) and tanh(x) = 2 sigmoid(2x) - 1 (NumPy's float32 ``exp``
runs at twice the speed of its ``tanh``). The scales -1 and -2 are folded into the recurrent
weight and the projections once per call, not per step.
"""

from __future__ import annotations

import numpy as np

from ember.errors import AutogradError, DTypeError, ShapeError
from ember.native import lstm as native_lstm
from ember.ops import registry, rules
from ember.ops.registry import OPS, _tensor_type, needs_input_grad, primitive

FLOATS = (np.float16, np.float32, np.float64)
SLOTS = 7  # h, c, tanh(c), i, f, g, o
# exp's argument per gate: -x for the sigmoid gates (i, f, o), -2x for the tanh gate (g)
_EXP_SCALE = (-1.0, -1.0, -2.0, -1.0)


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
    return (proj[0], SLOTS, n, h)


def _order(length: int, reverse: bool):
    return range(length - 1, -1, -1) if reverse else range(length)


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
    if proj.dtype == np.float16:  # float32 inside: NumPy has no float16 GEMM, and -2x
        return _forward(*_to32(proj, h0, c0, w_hh), reverse).astype(np.float16)  # overflows
    return _forward(proj, h0, c0, w_hh, reverse)


def _to32(*arrays):
    return [a.astype(np.float32) for a in arrays]


def _forward(proj, h0, c0, w_hh, reverse):
    out = native_lstm.forward(proj, h0, c0, w_hh, reverse=reverse)
    if out is not None:
        return out
    length, n, g4 = proj.shape
    hidden = g4 // 4
    scale = np.array(_EXP_SCALE, proj.dtype)[:, None, None]
    # per step and gate, a contiguous (N, H) block of scaled pre-activations (a plain
    # transposing copy, then a contiguous scale: 2x faster than one broadcast multiply)
    pre = np.empty((length, 4, n, hidden), proj.dtype)
    np.copyto(pre, proj.reshape(length, n, 4, hidden).transpose(0, 2, 1, 3))
    with np.errstate(over="ignore"):  # -2x beyond the float range is -inf: exp gives 0
        pre *= scale
    w_t = (w_hh.reshape(4, hidden, hidden) * scale).reshape(g4, hidden).T
    out = np.empty((length, SLOTS, n, hidden), proj.dtype)
    tmp = np.empty((n, hidden), proj.dtype)
    # one (N, 4H) GEMM per step (faster than four (N, H) ones); the add that follows reads
    # it gate by gate into the step's contiguous gate blocks
    mm = np.empty((n, g4), proj.dtype)
    mm_by_gate = mm.reshape(n, 4, hidden).transpose(1, 0, 2)
    h, c = h0, c0
    with np.errstate(over="ignore", under="ignore"):  # exp = inf or 0: the gates' limits
        for t in _order(length, reverse):
            acts = out[t, 3:]
            np.matmul(h, w_t, out=mm)
            np.add(mm_by_gate, pre[t], out=acts)
            np.exp(acts, out=acts)
            acts += 1
            np.reciprocal(acts, out=acts)
            i, f, g, o = acts
            g *= 2
            g -= 1
            c_new, tanh_c, h = out[t, 1], out[t, 2], out[t, 0]
            np.multiply(f, c, out=c_new)
            np.multiply(i, g, out=tmp)
            c_new += tmp
            np.tanh(c_new, out=tanh_c)
            np.multiply(tanh_c, o, out=h)
            c = c_new
    return out


@lstm_sequence.defvjp
def _(g_out, out, proj, h0, c0, w_hh, *, reverse):
    weight = needs_input_grad(3)
    if not isinstance(g_out, _tensor_type[0]):  # the eager first-order backward: arrays
        if _saved_slots_have_gradient(g_out):
            return _composed_vjp_of_arrays(g_out, proj, h0, c0, w_hh, reverse)
        return _backward(g_out, out, proj, h0, c0, w_hh, reverse, weight)
    if registry.grad_enabled[0]:  # create_graph: a VJP made of differentiable ops
        return _composed_vjp(g_out, proj, h0, c0, w_hh, reverse)
    # tracing (ember.compile): the same NumPy backward, recorded as one node
    packed = OPS["lstm_sequence_grad"](
        g_out, out, proj, h0, c0, w_hh, reverse=reverse, weight=weight
    )
    return _unpack(packed, proj.shape, weight)


def _saved_slots_have_gradient(g_out) -> bool:
    """Whether a gradient reaches slots 2-6 (ember.nn uses only h and c). The unsigned max
    is a quick all-zero test; -0.0 passes it, so a hit is confirmed exactly."""
    saved = g_out[:, 2:]
    if saved.size == 0 or saved.dtype.itemsize not in (2, 4, 8):
        return False
    bits = saved.view(np.dtype(f"u{saved.dtype.itemsize}"))
    return bool(bits.max()) and bool(saved.any())


def _grad_shape(g_out, out, proj, h0, c0, w_hh, *, reverse, weight):
    length, n, g4 = proj
    return (length * n * g4 + 2 * n * (g4 // 4) + (g4 * g4 // 4 if weight else 0),)


@primitive("lstm_sequence_grad", shape=_grad_shape, dtype=rules.same_dtype, dtypes=FLOATS)
def lstm_sequence_grad(g_out, out, proj, h0, c0, w_hh, *, reverse, weight):
    """``lstm_sequence``'s first-order gradients packed into one vector (d_proj, dh0, dc0 and,
    when ``weight``, d_w_hh, each flattened): how a compiled graph records the backward."""
    if _saved_slots_have_gradient(g_out):
        raise AutogradError(
            "lstm_sequence_grad: a compiled graph cannot differentiate through the saved "
            "slots 2-6 of lstm_sequence's output (tanh(c) and the gates); use h and c"
        )
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


def _previous(seq, first, reverse):
    """Per step, the state it started from: ``first`` for the first step, else the seq entry
    of the step before it (in the direction of the recurrence)."""
    prev = np.empty_like(seq)
    if reverse:
        prev[-1], prev[:-1] = first, seq[1:]
    else:
        prev[0], prev[1:] = first, seq[:-1]
    return prev


def _gate_factors(out, c0, reverse):
    """For all steps at once, what turns the cell and hidden gradients into the gate
    pre-activations' gradients: d(pre) = [dc * g * i', dc * c_prev * f', dc * i * g',
    dh * tanh(c) * o'] as (L, 4, N, H), and d(c)/d(h) = o * tanh'(c) as (L, N, H). Written
    in place, one pass per product (no temporaries)."""
    tanh_c = out[:, 2]
    i, f, g, o = (out[:, 3 + k] for k in range(4))
    fac = np.empty((out.shape[0], 4) + out.shape[2:], out.dtype)
    for k, (gate, times) in enumerate(((i, g), (f, None), (o, tanh_c))):
        slot = fac[:, (0, 1, 3)[k]]
        np.subtract(1, gate, out=slot)
        slot *= gate  # the sigmoid's derivative
        if times is not None:
            slot *= times
    f_slot = fac[:, 1]  # times the previous cell state
    if reverse:
        f_slot[:-1] *= out[1:, 1]
        f_slot[-1] *= c0
    else:
        f_slot[1:] *= out[:-1, 1]
        f_slot[0] *= c0
    g_slot = fac[:, 2]
    np.multiply(g, g, out=g_slot)
    np.subtract(1, g_slot, out=g_slot)
    g_slot *= i
    dc_from_h = np.multiply(tanh_c, tanh_c)
    np.subtract(1, dc_from_h, out=dc_from_h)
    dc_from_h *= o
    return fac, dc_from_h


def _backward(g_out, out, proj, h0, c0, w_hh, reverse, weight):
    if proj.dtype == np.float16:  # float32 inside, as the forward
        grads = _backward(*_to32(g_out, out, proj, h0, c0, w_hh), reverse, weight)
        return tuple(None if a is None else a.astype(np.float16) for a in grads)
    grads = native_lstm.backward(g_out, out, c0, w_hh, reverse=reverse)
    if grads is None:
        grads = _recurrence_grads(g_out, out, c0, w_hh, reverse)
    d_proj, dh, dc = grads
    d_w = None
    if weight:  # one GEMM over all steps, against the state each step started from
        g4, hidden = w_hh.shape
        h_prev = _previous(out[:, 0], h0, reverse)
        d_w = np.matmul(d_proj.reshape(-1, g4).T, h_prev.reshape(-1, hidden))
    return d_proj, dh, dc, d_w


def _recurrence_grads(g_out, out, c0, w_hh, reverse):
    """(d_proj, dh0, dc0) by NumPy loops: the fallback of ``ember.native.lstm.backward``."""
    length, _, n, hidden = out.shape
    fac, dc_from_h = _gate_factors(out, c0, reverse)
    forget = out[:, 4]
    g_h, g_c = g_out[:, 0], g_out[:, 1]
    # steps whose h or c gets no gradient from outside skip the add (a classifier reads
    # only the last h)
    live_h, live_c = (a.reshape(length, -1).any(axis=1).tolist() for a in (g_h, g_c))
    d_proj = np.empty((length, n, 4 * hidden), out.dtype)
    dh = np.zeros((n, hidden), out.dtype)
    dc = np.zeros((n, hidden), out.dtype)
    tmp = np.empty((n, hidden), out.dtype)
    for t in reversed(_order(length, reverse)):
        if live_h[t]:
            dh += g_h[t]
        if live_c[t]:
            dc += g_c[t]
        np.multiply(dh, dc_from_h[t], out=tmp)
        dc += tmp
        dg = d_proj[t].reshape(n, 4, hidden).transpose(1, 0, 2)  # (gate, N, H) view
        np.multiply(dc, fac[t, :3], out=dg[:3])
        np.multiply(dh, fac[t, 3], out=dg[3])
        dc *= forget[t]
        np.matmul(d_proj[t], w_hh, out=dh)
    return d_proj, dh, dc


def reference(proj, h0, c0, w_hh, reverse):
    """The recurrence written with differentiable ops (Tensors in, the output Tensor out)."""
    from ember.api.shape import stack

    h, c = h0, c0
    seq = [None] * proj.shape[0]
    for t in _order(proj.shape[0], reverse):
        gates = proj[t] + h.matmul(w_hh.transpose(0, 1))
        i, f, g, o = gates.chunk(4, -1)
        i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
        c = f * c + i * g
        tanh_c = c.tanh()
        h = o * tanh_c
        seq[t] = stack([h, c, tanh_c, i, f, g, o])
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


def _composed_vjp_of_arrays(g_out, proj, h0, c0, w_hh, reverse):
    """The composed VJP on arrays: for a gradient that reaches the saved slots, which the
    fast backward does not propagate."""
    from ember.core.creation import from_numpy

    grads = _composed_vjp(*(from_numpy(a) for a in (g_out, proj, h0, c0, w_hh)), reverse)
    return tuple(None if gi is None else gi.detach().numpy() for gi in grads)


def _enable_grad():
    from ember.core.grad_mode import enable_grad

    return enable_grad()
