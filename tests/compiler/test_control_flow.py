"""``ember.cond``, ``ember.scan`` and ``ember.while_loop``: eagerly they are Python control
flow; compiled they are single graph nodes serving every branch outcome and trip count. Both
modes are checked against plain Python loops written in PyTorch (values and gradients)."""

import numpy as np
import pytest
import torch

import ember
from ember import nn
from ember.ir import TraceError

RTOL, ATOL = 1e-5, 1e-6


def _t(a, grad=True):
    return ember.tensor(np.asarray(a, np.float32), requires_grad=grad)


def _torch(a):
    return torch.tensor(np.asarray(a, np.float32), requires_grad=True)


def _grads(out, inputs):
    return [g.numpy() for g in ember.autograd.grad(out, inputs)]


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=RTOL, atol=ATOL)


# ---- cond ---------------------------------------------------------------------------------


def _branchy(x, w):
    return ember.cond(x.sum() > 0, lambda x, w: (x * w).sin(), lambda x, w: x.exp() - w, (x, w))


def _branchy_torch(x, w):
    return (x * w).sin() if x.sum() > 0 else x.exp() - w


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_cond_values_and_grads_follow_the_branch_taken(compiled):
    fn = ember.compile(_branchy) if compiled else _branchy
    rng = np.random.default_rng(0)
    for sign in (1.0, -1.0, 1.0, -1.0):
        xa = sign * np.abs(rng.standard_normal(5)) + 0.01 * sign
        wa = rng.standard_normal(5)
        x, w = _t(xa), _t(wa)
        tx, tw = _torch(xa), _torch(wa)
        out, ref = fn(x, w), _branchy_torch(tx, tw)
        _close(out.detach().numpy(), ref.detach().numpy())
        seed = rng.standard_normal(5).astype(np.float32)
        gx, gw = _grads((out * ember.tensor(seed)).sum(), [x, w])
        rx, rw = torch.autograd.grad((ref * torch.tensor(seed)).sum(), [tx, tw])
        _close(gx, rx.numpy())
        _close(gw, rw.numpy())
    if compiled:  # one graph holds both branches
        assert len(fn.programs) == 1


def test_cond_reaches_parameters_captured_by_its_branches():
    ember.manual_seed(0)
    lin = nn.Linear(4, 4)
    tl = torch.nn.Linear(4, 4)
    with torch.no_grad():
        tl.weight.copy_(torch.tensor(lin.weight.detach().numpy()))
        tl.bias.copy_(torch.tensor(lin.bias.detach().numpy()))

    @ember.compile
    def f(x):
        return ember.cond(x.mean() > 0, lambda x: lin(x).tanh(), lambda x: x * 3.0, (x,)).sum()

    # each branch traced (the first call), then each run by the cached graph
    for xa in (np.full((2, 4), 0.5), np.full((2, 4), -0.5)) * 2:
        lin.zero_grad()
        f(_t(xa, grad=False)).backward()
        tl.zero_grad()
        tx = _torch(xa)
        (tl(tx).tanh() if tx.mean() > 0 else tx * 3.0).sum().backward()
        tg = tl.weight.grad if tl.weight.grad is not None else torch.zeros(4, 4)
        got = lin.weight.grad.numpy() if lin.weight.grad is not None else np.zeros((4, 4))
        _close(got, tg.numpy())
    assert len(f.programs) == 1


def test_cond_with_a_python_pred_is_a_plain_if():
    assert ember.cond(True, lambda: 1, lambda: 2) == 1
    assert ember.cond(0, lambda: 1, lambda: 2) == 2


def test_cond_branches_must_agree():
    f = ember.compile(
        lambda x: ember.cond(x.sum() > 0, lambda x: x, lambda x: x.reshape(1, -1), (x,))
    )
    with pytest.raises(TraceError, match=r"cond.*true_fn.*false_fn"):
        f(ember.randn(3))


def test_cond_rejects_bad_arguments():
    x = ember.randn(3)
    with pytest.raises(ValueError, match=r"exactly one element, got shape \(3,\)"):
        ember.cond(x > 0, lambda x: x, lambda x: x, (x,))
    with pytest.raises(TypeError, match="operand 1 must be a Tensor, got float"):
        ember.cond(x.sum() > 0, lambda *a: a[0], lambda *a: a[0], (x, 2.0))
    with pytest.raises(TypeError, match="pred must be a Python bool or a one-element tensor"):
        ember.cond("yes", lambda: 1, lambda: 2)


# ---- scan ---------------------------------------------------------------------------------


def _rnn_ember(h0, xs, w, u):
    return ember.scan(lambda h, x: ((h @ w + x @ u).tanh(),) * 2, h0, xs)


def _rnn_torch(h0, xs, w, u):
    h, ys = h0, []
    for t in range(xs.shape[0]):
        h = (h @ w + xs[t] @ u).tanh()
        ys.append(h)
    return h, torch.stack(ys)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_scan_rnn_matches_a_python_loop_with_gradients(compiled):
    rng = np.random.default_rng(1)
    fn = ember.compile(_rnn_ember) if compiled else _rnn_ember
    for _ in range(2):  # compiled: the traced call, then the cached graph on new data
        arrays = [rng.standard_normal(s) * 0.5 for s in [(2, 3), (6, 2, 4), (3, 3), (4, 3)]]
        ours = [_t(a) for a in arrays]
        theirs = [_torch(a) for a in arrays]
        h, ys = fn(*ours)
        rh, rys = _rnn_torch(*theirs)
        _close(h.detach().numpy(), rh.detach().numpy())
        _close(ys.detach().numpy(), rys.detach().numpy())
        seed = rng.standard_normal(ys.shape).astype(np.float32)
        loss = (ys * ember.tensor(seed)).sum() + h.sum()
        ref = (rys * torch.tensor(seed)).sum() + rh.sum()
        for g, r in zip(_grads(loss, ours), torch.autograd.grad(ref, theirs)):
            _close(g, r.numpy())
    if compiled:
        assert len(fn.programs) == 1


def test_compiled_scan_serves_every_length_of_the_same_graph_shape():
    fast = ember.compile(lambda xs: ember.scan(lambda c, x: (c + x, c), ember.zeros(2), xs))
    for n in (3, 3):
        xs = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
        c, ys = fast(ember.tensor(xs))
        _close(c.numpy(), xs.sum(0))
        _close(ys.numpy(), np.cumsum(xs, 0) - xs)  # the carry before each step
    assert len(fast.programs) == 1


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_scan_reverse_along_dim_1_with_tuple_carry(compiled):
    def f(xs, ws):
        def step(carry, sl):
            s, p = carry
            x, w = sl
            return (s + x * w, p * x), s

        return ember.scan(step, (ember.zeros(2), ember.ones(2)), (xs, ws), dim=1, reverse=True)

    rng = np.random.default_rng(2)
    fn = ember.compile(f) if compiled else f
    for _ in range(2):  # compiled: the traced call, then the cached graph on new data
        xa, wa = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
        x, w = _t(xa), _t(wa)
        (s, p), ys = fn(x, w)
        tx, tw = _torch(xa), _torch(wa)
        ts, tp, tys = torch.zeros(2), torch.ones(2), [None] * 5
        for i in reversed(range(5)):
            tys[i] = ts
            ts, tp = ts + tx[:, i] * tw[:, i], tp * tx[:, i]
        tys = torch.stack(tys, 1)
        _close(s.detach().numpy(), ts.detach().numpy())
        _close(p.detach().numpy(), tp.detach().numpy())
        _close(ys.detach().numpy(), tys.detach().numpy())
        loss = s.sum() + (p * p).sum() + ys.sum()
        ref = ts.sum() + (tp * tp).sum() + tys.sum()
        for g, r in zip(_grads(loss, [x, w]), torch.autograd.grad(ref, [tx, tw])):
            _close(g, r.numpy())
    if compiled:
        assert len(fn.programs) == 1


def test_scan_rejects_bad_arguments():
    c = ember.zeros(2)
    with pytest.raises(ValueError, match=r"different lengths along dim 0: \[3, 4\]"):
        ember.scan(lambda c, x: (c, c), c, (ember.zeros(3, 2), ember.zeros(4, 2)))
    with pytest.raises(ValueError, match=r"xs\[0\] of shape \(\) has no dim 0"):
        ember.scan(lambda c, x: (c, c), c, ember.tensor(1.0))
    with pytest.raises(TraceError, match="must return a pair"):
        ember.scan(lambda c, x: c + x, c, ember.zeros(3, 2))
    with pytest.raises(TraceError, match="structure of init"):
        ember.scan(lambda c, x: ((c, c), x), c, ember.zeros(3, 2))


# ---- while_loop ---------------------------------------------------------------------------


def _halve_until(x, w, limit):
    def body(k, x):
        return k + 1, x * w

    return ember.while_loop(lambda k, x: x.abs().sum() > limit, body, (ember.tensor(0), x))


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_while_loop_trip_count_and_gradients_match_a_python_loop(compiled):
    fn = ember.compile(_halve_until) if compiled else _halve_until
    for scale in (1.0, 10.0, 100.0):
        xa = np.array([1.0, -2.0, 3.0]) * scale
        wa = np.array([0.5, 0.6, 0.7])
        x, w = _t(xa), _t(wa)
        k, y = fn(x, w, 1.0)
        tx, tw, trips = _torch(xa), _torch(wa), 0
        ty = tx
        while ty.abs().sum() > 1.0:
            ty, trips = ty * tw, trips + 1
        assert int(k.numpy()) == trips
        _close(y.detach().numpy(), ty.detach().numpy())
        for g, r in zip(
            _grads((y * y).sum(), [x, w]), torch.autograd.grad((ty * ty).sum(), [tx, tw])
        ):
            _close(g, r.numpy())
    if compiled:
        assert len(fn.programs) == 1  # every trip count runs the same graph


def test_while_loop_newton_sqrt_gradient_matches_closed_form():
    @ember.compile
    def sqrt(a):
        def body(i, y):
            return i + 1, 0.5 * (y + a / y)

        return ember.while_loop(lambda i, y: i < 8, body, (ember.tensor(0), a))[1]

    for values in ([2.0, 9.0, 0.25], [5.0, 0.5, 16.0]):  # traced, then the cached graph
        a = _t(values)
        y = sqrt(a)
        _close(y.detach().numpy(), np.sqrt(values))
        (g,) = _grads(y.sum(), [a])
        np.testing.assert_allclose(g, 0.5 / np.sqrt(values), rtol=1e-4)
    assert len(sqrt.programs) == 1


def test_while_loop_body_must_keep_types():
    x = ember.zeros(2)
    with pytest.raises(TraceError, match=r"body_fn output 0 is .* but carried input 0 is"):
        ember.while_loop(lambda x: x.sum() < 1, lambda x: x.reshape(2, 1) + 1, (x,))
    with pytest.raises(TypeError, match=r"cond_fn must return a one-element tensor, got \(2,\)"):
        ember.while_loop(lambda x: x < 1, lambda x: x + 1, (x,))
    with pytest.raises(TypeError, match="carried_inputs must be a tuple of tensors"):
        ember.while_loop(lambda x: x < 1, lambda x: x + 1, (1.0,))
    f = ember.compile(lambda x: ember.while_loop(lambda x: x < 1, lambda x: x + 1, (x,)))
    with pytest.raises(TraceError, match=r"cond_fn must return a one-element tensor, got \(2,\)"):
        f(x)


# ---- nesting ------------------------------------------------------------------------------


def test_cond_inside_scan_compiles_and_differentiates():
    def f(xs):
        def step(c, x):
            c = ember.cond(x.sum() > 0, lambda c, x: c + x, lambda c, x: c * x, (c, x))
            return c, c

        return ember.scan(step, ember.ones(2), xs)[0]

    fast = ember.compile(f)
    # traced on the first, then the cached graph on data taking the other branches
    for xa in (
        np.array([[1.0, 2.0], [-1.0, -3.0], [0.5, 0.5], [-2.0, 1.0]]),
        np.array([[-1.5, 0.5], [2.0, 1.0], [-0.5, -0.25], [3.0, -1.0]]),
    ):
        x = _t(xa)
        out = fast(x)
        tx = _torch(xa)
        tc = torch.ones(2)
        for i in range(4):
            tc = tc + tx[i] if tx[i].sum() > 0 else tc * tx[i]
        _close(out.detach().numpy(), tc.detach().numpy())
        (g,) = _grads(out.sum(), [x])
        (r,) = torch.autograd.grad(tc.sum(), [tx])
        _close(g, r.numpy())
    assert len(fast.programs) == 1
