"""A whole training step (forward, backward, optimizer update) compiled into one graph must
update parameters and optimizer state exactly as the eager step does."""

import numpy as np
import pytest

import ember
import ember.native
from ember import nn, optim
from ember.backends.numpy import fused_c
from tests.steps import classifier_step

OPTIMIZERS = [
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    (optim.SGD, dict(lr=0.1)),
    (optim.Adam, dict(lr=0.01, weight_decay=1e-2)),
    (optim.AdamW, dict(lr=0.01, amsgrad=True)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01)),
]


def _mlp_and_opt(cls, kw):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 4))
    return model, cls(model.parameters(), **kw)


@pytest.mark.parametrize("c_loops", ["default", "every fused node"])
@pytest.mark.parametrize("cls,kw", OPTIMIZERS, ids=lambda v: getattr(v, "__name__", ""))
def test_compiled_step_matches_eager_bitwise(cls, kw, c_loops, monkeypatch):
    if c_loops != "default":  # generated C loops for every fused chain, however small
        monkeypatch.setattr(fused_c, "MIN_ELEMENTS", [0])
    m_eager, o_eager = _mlp_and_opt(cls, kw)
    m_comp, o_comp = _mlp_and_opt(cls, kw)
    eager = classifier_step(m_eager, o_eager)
    compiled = ember.compile(classifier_step(m_comp, o_comp))
    s_eager = optim.lr_scheduler.StepLR(o_eager, 4, 0.5)
    s_comp = optim.lr_scheduler.StepLR(o_comp, 4, 0.5)
    rng = np.random.default_rng(1)
    for i in range(12):
        x = ember.tensor(rng.standard_normal((8, 6)).astype(np.float32))
        y = ember.tensor(rng.integers(0, 4, 8))
        assert float(eager(x, y)) == float(compiled(x, y)), f"step {i}"
        s_eager.step()
        s_comp.step()
    for (name, p), q in zip(m_eager.named_parameters(), m_comp.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=name)
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy(), err_msg=name)
    # one graph for the steady state; the first (state-creating) step is not cached
    assert len(compiled.programs) == 1
    if c_loops != "default" and ember.native.status() == "loaded":
        assert "_fused([" in compiled.programs[0].fn.source
    sd_e, sd_c = o_eager.state_dict(), o_comp.state_dict()
    for k in sd_e["state"]:
        for key, v in sd_e["state"][k].items():
            w = sd_c["state"][k][key]
            np.testing.assert_array_equal(np.asarray(v), np.asarray(w), err_msg=key)


def test_optimizer_state_reload_is_seen_by_compiled_step():
    model, opt = _mlp_and_opt(optim.Adam, dict(lr=0.01))
    step = ember.compile(classifier_step(model, opt))
    x, y = ember.randn(8, 6), ember.randint(0, 4, (8,))
    for _ in range(3):
        step(x, y)
    saved = opt.state_dict()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    after = [float(step(x, y)) for _ in range(2)]
    opt.load_state_dict(saved)
    model.load_state_dict(weights)
    again = [float(step(x, y)) for _ in range(2)]
    assert after == again


def test_hyperparameter_change_retraces():
    model, opt = _mlp_and_opt(optim.SGD, dict(lr=0.1, momentum=0.9))
    step = ember.compile(classifier_step(model, opt))
    x, y = ember.randn(8, 6), ember.randint(0, 4, (8,))
    for _ in range(3):
        step(x, y)
    assert len(step.programs) == 1
    opt.param_groups[0]["momentum"] = 0.5
    step(x, y)
    assert len(step.programs) == 2
