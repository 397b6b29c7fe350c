"""Training-time state inside compiled steps: dropout's random masks, batch norm's running
statistics, ``Module.zero_grad`` and gradient clipping, each against eager mode."""

import math

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn, optim
from ember.ir import TraceError


def _step_fn(model, opt, clip=None, set_to_none=True):
    def step(x, y):
        model.zero_grad(set_to_none=set_to_none)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        norm = clip(model.parameters()) if clip is not None else loss
        opt.step()
        return loss, norm

    return step


def _batches(n, shape, classes, seed=1):
    rng = np.random.default_rng(seed)
    return [
        (
            ember.tensor(rng.standard_normal(shape).astype(np.float32)),
            ember.tensor(rng.integers(0, classes, shape[0])),
        )
        for _ in range(n)
    ]


def _values(out):
    return tuple(float(t) for t in out)


# ---- dropout ----------------------------------------------------------------------------


def _dropout_net():
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 4))


def _compiled_dropout_losses(seed):
    ember.manual_seed(0)
    model = _dropout_net()
    step = ember.compile(_step_fn(model, optim.SGD(model.parameters(), lr=0.1)))
    ember.manual_seed(seed)
    return [_values(step(x, y))[0] for x, y in _batches(6, (16, 8), 4)]


def test_compiled_dropout_is_reproducible_under_manual_seed():
    assert _compiled_dropout_losses(5) == _compiled_dropout_losses(5)
    assert _compiled_dropout_losses(5) != _compiled_dropout_losses(6)


def test_bernoulli_mask_is_a_function_of_its_seed_and_checks_its_inputs():
    from ember.errors import DTypeError, EmberValueError
    from ember.ops.random import bernoulli_mask

    f32 = np.dtype(np.float32)
    a = bernoulli_mask(np.array(3), shape=(64,), p=0.25, dtype=f32)
    np.testing.assert_array_equal(a, bernoulli_mask(np.array(3), shape=(64,), p=0.25, dtype=f32))
    keep = np.random.default_rng(3).random(64, dtype=np.float32) >= 0.25
    np.testing.assert_array_equal(a, np.where(keep, np.float32(1 / 0.75), 0))
    assert not bernoulli_mask(np.array(1), shape=(8,), p=1.0, dtype=f32).any()
    with pytest.raises(DTypeError, match="bernoulli_mask: dtype float32 is not supported"):
        bernoulli_mask(ember.tensor(1.5), shape=(2,), p=0.5, dtype=f32)
    with pytest.raises(EmberValueError, match="p must be in"):
        bernoulli_mask(ember.tensor(1), shape=(2,), p=1.5, dtype=f32)


def test_compiled_dropout_draws_a_new_mask_at_every_call_with_the_keep_rate():
    drop = ember.compile(lambda x: F.dropout(x, 0.3, True))
    x = ember.ones(200, 100)
    masks = [drop(x).numpy() for _ in range(3)]
    assert len(drop.programs) == 1  # the later calls ran the graph
    for m in masks:
        assert set(np.unique(m).tolist()) == {0.0, np.float32(1 / 0.7)}
        # 20000 draws: the keep rate's standard deviation is 0.0032
        assert abs((m != 0).mean() - 0.7) < 0.02
    assert not np.array_equal(masks[0], masks[1])
    assert not np.array_equal(masks[1], masks[2])


def test_compiled_dropout_gradient_goes_through_the_same_mask():
    x = ember.ones(50, 40, requires_grad=True)  # ones: the output is the mask itself

    def fn(gy):
        x.grad = None
        out = F.dropout(x, 0.5, True)
        out.backward(gy)
        return out

    step = ember.compile(fn)
    rng = np.random.default_rng(0)
    outs = []
    for _ in range(4):  # traced with x.grad None, then set: then the graph
        gy = ember.tensor(rng.standard_normal((50, 40)).astype(np.float32))
        out = step(gy).detach().numpy()
        np.testing.assert_array_equal(x.grad.numpy(), gy.numpy() * out)
        assert 0 < (out == 0).sum() < out.size
        outs.append(out)
    assert len(step.programs) == 2  # the later calls ran the graph
    assert not np.array_equal(outs[2], outs[3])


def test_compiled_feature_and_alpha_dropout_draw_fresh_masks():
    x = ember.ones(64, 8, 3)
    d2 = ember.compile(lambda t: F.dropout1d(t, 0.5, True))
    a, b = d2(x).numpy(), d2(x).numpy()  # the traced call, then the graph
    assert len(d2.programs) == 1
    assert not np.array_equal(a, b)
    for m in (a, b):
        assert (m == m[:, :, :1]).all()  # one draw per (sample, channel)
        assert set(np.unique(m).tolist()) == {0.0, 2.0}
    alpha = ember.compile(lambda t: F.alpha_dropout(t, 0.2, True))
    a, b = alpha(x).numpy(), alpha(x).numpy()
    assert len(alpha.programs) == 1
    assert not np.array_equal(a, b)
    eager_values = set(np.unique(F.alpha_dropout(x, 0.2, True).numpy()).tolist())
    for m in (a, b):
        assert len(np.unique(m)) == 2
        assert set(np.unique(m).tolist()) == eager_values


def test_eval_mode_compiles_without_dropout():
    ember.manual_seed(0)
    model = _dropout_net()
    step = ember.compile(_step_fn(model, optim.SGD(model.parameters(), lr=0.1)))
    batches = _batches(3, (16, 8), 4)
    for x, y in batches:
        step(x, y)
    model.eval()  # a guard on the mode: the train graph is not reused
    x, y = batches[0]
    expected = F.cross_entropy(model(x), y)
    before = model[0].weight.detach().numpy().copy()
    loss, _ = step(x, y)
    assert float(loss) == float(expected)
    assert not np.array_equal(before, model[0].weight.detach().numpy())  # still a train step
    n = len(step.programs)
    for x, y in batches[1:]:  # the eval graph (the first eval call traced it)
        expected = F.cross_entropy(model(x), y)  # eager, no dropout
        before = model[0].weight.detach().numpy().copy()
        loss2, _ = step(x, y)
        assert float(loss2) == float(expected)
        assert not np.array_equal(before, model[0].weight.detach().numpy())
    assert len(step.programs) == n
    assert "bernoulli_mask" not in str(step.programs[-1].graph)


# ---- batch norm -------------------------------------------------------------------------


def _bn_net(momentum=0.1):
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.BatchNorm2d(4, momentum=momentum),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 36, 3),
    )


@pytest.mark.parametrize("momentum", [0.1, None], ids=["ema", "cumulative"])
def test_compiled_batch_norm_updates_running_stats_as_eager(momentum):
    models, steps = [], []
    for compiled in (False, True):
        ember.manual_seed(0)
        model = _bn_net(momentum)
        step = _step_fn(model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
        models.append(model)
        steps.append(ember.compile(step) if compiled else step)
    batches = _batches(6, (8, 1, 8, 8), 3)
    for x, y in batches:
        assert _values(steps[0](x, y)) == _values(steps[1](x, y))
    assert len(steps[1].programs) == 1
    eager_state, comp_state = models[0].state_dict(), models[1].state_dict()
    assert int(comp_state["1.num_batches_tracked"]) == 6
    for k, v in eager_state.items():
        np.testing.assert_array_equal(v.detach().numpy(), comp_state[k].detach().numpy(), err_msg=k)
    # eval mode normalises with the running statistics, compiled as eagerly
    for m in models:
        m.eval()
    fast = ember.compile(models[1])
    for x, _ in batches[:2]:  # the traced call, then the graph
        np.testing.assert_array_equal(fast(x).detach().numpy(), models[0](x).detach().numpy())
    assert len(fast.programs) == 1


def test_compiled_eval_batch_norm_reads_the_live_running_stats():
    ember.manual_seed(0)
    model = _bn_net()
    fast = ember.compile(model)
    model.eval()
    x = _batches(1, (4, 1, 8, 8), 3)[0][0]
    first = fast(x).detach().numpy()
    model.train()
    with ember.no_grad():
        for xb, _ in _batches(3, (8, 1, 8, 8), 3, seed=2):
            model(xb)  # eager training-mode forwards move the statistics
    model.eval()
    now = fast(x).detach().numpy()
    assert not np.array_equal(first, now)
    np.testing.assert_array_equal(now, model(x).detach().numpy())


# ---- zero_grad and clipping -------------------------------------------------------------


def _clip_norm(norm_type):
    return lambda ps: nn.utils.clip_grad_norm_(ps, 0.5, norm_type)


def _clip_value(ps):
    nn.utils.clip_grad_value_(ps, 0.05)
    return ember.zeros(())


@pytest.mark.parametrize(
    "clip, set_to_none",
    [
        (None, False),
        (_clip_norm(2.0), True),
        (_clip_norm(math.inf), True),
        (_clip_norm(1.0), False),
        (_clip_value, True),
    ],
    ids=["zero_grad_keep", "norm2", "norm_inf", "norm1", "value"],
)
def test_compiled_clipping_and_zero_grad_match_eager(clip, set_to_none):
    runs = []
    for compiled in (False, True):
        ember.manual_seed(0)
        model = _bn_net()
        step = _step_fn(model, optim.SGD(model.parameters(), lr=0.5), clip, set_to_none)
        step = ember.compile(step) if compiled else step
        outs = [_values(step(x, y)) for x, y in _batches(5, (8, 1, 8, 8), 3)]
        runs.append((outs, model))
    assert runs[0][0] == runs[1][0]
    for (k, p), q in zip(runs[0][1].named_parameters(), runs[1][1].parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=k)
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy(), err_msg=k)
    if clip is not None and clip is not _clip_value:
        assert any(norm > 0.5 for _, norm in runs[0][0])  # the clipping did act


def test_clip_grad_norm_error_if_nonfinite_cannot_be_compiled():
    ember.manual_seed(0)
    model = _bn_net()
    clip = lambda ps: nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)  # noqa: E731
    step = ember.compile(_step_fn(model, optim.SGD(model.parameters(), lr=0.1), clip))
    x, y = _batches(1, (8, 1, 8, 8), 3)[0]
    with pytest.raises(TraceError, match="error_if_nonfinite"):
        step(x, y)
