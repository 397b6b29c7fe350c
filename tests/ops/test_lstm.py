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
    seq, h, c = out[..., :H], last[:, :H], last[:, H : 2 * H]
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
    (gx,) = ember.autograd.grad(out[..., :H].tanh().sum(), [x], create_graph=True)
    (tgx,) = torch.autograd.grad(tseq.tanh().sum(), [tx], create_graph=True)
    np.testing.assert_allclose(gx.detach().numpy(), tgx.detach().numpy(), rtol=1e-9)
    ours = ember.autograd.grad((gx * gx).sum(), [w_hh, h0])
    theirs = torch.autograd.grad((tgx * tgx).sum(), [tw_hh, th0])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-8, atol=1e-12)


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
