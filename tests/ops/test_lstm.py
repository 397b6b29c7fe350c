"""The fused LSTM recurrence (``ember.ops.lstm``) against PyTorch's LSTM: values, first- and
second-order gradients, both directions, and its shape errors."""

import numpy as np
import pytest
import torch

import ember
from ember.ops.lstm import lstm_sequence


def _pair(rng, shape, dtype=np.float64):
    a = rng.standard_normal(shape).astype(dtype)
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _torch_lstm(x, h0, c0, w_ih, w_hh, reverse):
    """PyTorch's own LSTM layer with these weights (biases zero)."""
    lstm = torch.nn.LSTM(x.shape[2], h0.shape[1], bias=False, bidirectional=reverse).double()
    sfx = "_l0_reverse" if reverse else "_l0"
    if reverse:  # the forward direction is unused: give it weights and ignore its outputs
        lstm.weight_ih_l0.data.zero_()
        lstm.weight_hh_l0.data.zero_()
    del lstm._parameters["weight_ih" + sfx], lstm._parameters["weight_hh" + sfx]
    setattr(lstm, "weight_ih" + sfx, w_ih)
    setattr(lstm, "weight_hh" + sfx, w_hh)
    h0s, c0s = [h0[None]], [c0[None]]
    if reverse:
        h0s.insert(0, torch.zeros_like(h0)[None])
        c0s.insert(0, torch.zeros_like(c0)[None])
    out, (h, c) = lstm(x, (torch.cat(h0s), torch.cat(c0s)))
    hidden = h0.shape[1]
    return (out[..., hidden:], h[-1], c[-1]) if reverse else (out, h[-1], c[-1])


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_values_and_gradients_match_torch_lstm(reverse):
    rng = np.random.default_rng(0)
    L, N, C, H = 5, 3, 4, 6
    x, tx = _pair(rng, (L, N, C))
    w_ih, tw_ih = _pair(rng, (4 * H, C))
    w_hh, tw_hh = _pair(rng, (4 * H, H))
    h0, th0 = _pair(rng, (N, H))
    c0, tc0 = _pair(rng, (N, H))
    proj = x.matmul(w_ih.transpose(0, 1))
    out = lstm_sequence(proj, h0, c0, w_hh, reverse=reverse)
    last = out[0 if reverse else -1]
    seq, h, c = out[:, 0], last[0], last[1]
    tseq, th, tc = _torch_lstm(tx, th0, tc0, tw_ih, tw_hh, reverse)
    for a, b in ((seq, tseq), (h, th), (c, tc)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    seeds = [rng.standard_normal(t.shape) for t in (tseq, th, tc)]
    loss = sum((a * ember.tensor(s)).sum() for a, s in zip((seq, h, c), seeds))
    tloss = sum((b * torch.tensor(s)).sum() for b, s in zip((tseq, th, tc), seeds))
    ours = ember.autograd.grad(loss, [x, w_ih, w_hh, h0, c0])
    theirs = torch.autograd.grad(tloss, [tx, tw_ih, tw_hh, th0, tc0])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-12)


def test_second_order_gradients_match_torch():
    rng = np.random.default_rng(1)
    L, N, C, H = 4, 2, 3, 5
    x, tx = _pair(rng, (L, N, C))
    w_ih, tw_ih = _pair(rng, (4 * H, C))
    w_hh, tw_hh = _pair(rng, (4 * H, H))
    h0, th0 = _pair(rng, (N, H))
    c0, tc0 = _pair(rng, (N, H))
    out = lstm_sequence(x.matmul(w_ih.transpose(0, 1)), h0, c0, w_hh, reverse=False)
    tseq, th, tc = _torch_lstm(tx, th0, tc0, tw_ih, tw_hh, False)
    (gx,) = ember.autograd.grad(out[:, 0].tanh().sum(), [x], create_graph=True)
    (tgx,) = torch.autograd.grad(tseq.tanh().sum(), [tx], create_graph=True)
    np.testing.assert_allclose(gx.detach().numpy(), tgx.detach().numpy(), rtol=1e-9)
    ours = ember.autograd.grad((gx * gx).sum(), [w_hh, h0])
    theirs = torch.autograd.grad((tgx * tgx).sum(), [tw_hh, th0])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-8, atol=1e-12)


def _torch_recurrence(proj, h0, c0, w_hh, reverse):
    """All seven output slots, by a plain PyTorch loop over time."""
    h, c, seq = h0, c0, [None] * proj.shape[0]
    steps = range(proj.shape[0] - 1, -1, -1) if reverse else range(proj.shape[0])
    for t in steps:
        i, f, g, o = (proj[t] + h @ w_hh.T).chunk(4, -1)
        i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        seq[t] = torch.stack([h, c, c.tanh(), i, f, g, o])
    return torch.stack(seq)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_every_slot_and_its_gradient_match_a_torch_loop(reverse, dtype):
    # the saved slots (tanh(c), gates) take the slow composed backward: it must be right too
    rng = np.random.default_rng(2)
    L, N, H = 4, 3, 5
    ins = [_pair(rng, s, dtype) for s in ((L, N, 4 * H), (N, H), (N, H), (4 * H, H))]
    out = lstm_sequence(*(a for a, _ in ins), reverse=reverse)
    want = _torch_recurrence(*(b for _, b in ins), reverse)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), **tol)
    seed = rng.standard_normal(want.shape).astype(dtype)
    ours = ember.autograd.grad((out * ember.tensor(seed)).sum(), [a for a, _ in ins])
    theirs = torch.autograd.grad((want * torch.tensor(seed)).sum(), [b for _, b in ins])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), **tol)


def test_large_preactivations_saturate_the_gates_without_warnings():
    # exp overflows to inf for very negative inputs: the gates must reach 0 and 1, not NaN
    proj = np.full((2, 1, 8), 200.0)
    proj[:, :, 2:4] = -200.0  # forget gate and half the input gates closed
    z = np.zeros((1, 2))
    with np.errstate(all="raise"):
        out = lstm_sequence(proj, z, z, np.zeros((8, 2)), reverse=False)
    want = _torch_recurrence(*(torch.tensor(a) for a in (proj, z, z, np.zeros((8, 2)))), False)
    np.testing.assert_allclose(out, want.numpy(), rtol=1e-12, atol=0)


def test_compiled_lstm_layer_matches_eager_with_gradients():
    ember.manual_seed(0)
    layer = ember.nn.LSTM(4, 6, batch_first=True)
    x = ember.randn(3, 5, 4)

    def loss_of(fn):
        layer.zero_grad()
        out, (h, c) = fn(x)
        loss = out.square().sum() + h.sum() + c.sum()
        loss.backward()
        return float(loss), [p.grad.numpy().copy() for p in layer.parameters()]

    want, grads = loss_of(layer)
    got, cgrads = loss_of(ember.compile(layer))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    for a, b in zip(cgrads, grads):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_float16_runs_in_float32_inside_without_overflow():
    # -2x of a float16 g-gate pre-activation above ~16k overflows float16: the recurrence
    # computes in float32 and must neither warn nor lose the saturated gate
    rng = np.random.default_rng(3)
    proj = rng.standard_normal((3, 2, 8)).astype(np.float16)
    proj[1, :, 4:6] = 40000.0  # the g gate (slots 4:6 of 4H = 8)
    h0, c0 = (rng.standard_normal((2, 2)).astype(np.float16) for _ in range(2))
    w = rng.standard_normal((8, 2)).astype(np.float16)
    with np.errstate(all="raise"):
        out = lstm_sequence(proj, h0, c0, w, reverse=False)
    assert out.dtype == np.float16
    want = _torch_recurrence(
        *(torch.tensor(a, dtype=torch.float32) for a in (proj, h0, c0, w)), False
    )
    np.testing.assert_allclose(out.astype(np.float32), want.numpy(), rtol=2e-3, atol=2e-3)


def test_compiled_gradient_into_the_saved_slots_is_refused():
    # the compiled backward packs only the h/c recurrence: it must say so, not drop the rest
    w = ember.randn(8, 2, requires_grad=True)
    proj, z = ember.randn(3, 1, 8), ember.zeros(1, 2)

    def step():
        lstm_sequence(proj, z, z, w, reverse=False)[:, 3].sum().backward()
        return w.grad

    with pytest.raises(ember.AutogradError, match="cannot differentiate through the saved"):
        ember.compile(step)()


def test_shapes_that_do_not_fit_are_named():
    z = ember.zeros
    with pytest.raises(ember.ShapeError, match=r"lstm_sequence: projections \(5, 2, 10\)"):
        lstm_sequence(z(5, 2, 10), z(2, 3), z(2, 3), z(10, 3), reverse=False)
    with pytest.raises(ember.ShapeError, match=r"states \(3, 3\), \(2, 3\) .* batch 2"):
        lstm_sequence(z(5, 2, 12), z(3, 3), z(2, 3), z(12, 3), reverse=False)


def test_a_broadcastable_state_is_refused_not_broadcast():
    z = ember.zeros
    with pytest.raises(ember.ShapeError, match=r"states \(2, 3\), \(1, 3\)"):
        lstm_sequence(z(5, 2, 12), z(2, 3), z(1, 3), z(12, 3), reverse=False)


def test_states_of_another_dtype_are_refused_like_torch():
    layer = ember.nn.LSTM(3, 4)
    h = ember.zeros(1, 1, 4, dtype=ember.float64)
    with pytest.raises(ember.DTypeError, match="one dtype, got float32, float64"):
        layer(ember.zeros(2, 1, 3), (h, h))
