"""Learning-rate schedulers against PyTorch's over 40 steps, with state_dict round trips."""

import numpy as np
import pytest
import torch

import ember

S = "lr_scheduler"


def _sched(lib, name, opt):
    m = getattr(lib.optim, S)
    return {
        "step": lambda: m.StepLR(opt, 4, 0.5),
        "multistep": lambda: m.MultiStepLR(opt, [3, 7, 7, 12], 0.5),
        "exponential": lambda: m.ExponentialLR(opt, 0.9),
        "cosine": lambda: m.CosineAnnealingLR(opt, 7, 0.001),
        "linear": lambda: m.LinearLR(opt, 0.2, 0.9, 6),
        "lambda": lambda: m.LambdaLR(opt, lambda e: 0.95**e),
        "onecycle": lambda: m.OneCycleLR(opt, 1.0, total_steps=41),
        "onecycle_linear_3phase": lambda: m.OneCycleLR(
            opt, [1.0, 0.5], total_steps=41, anneal_strategy="linear", three_phase=True
        ),
        "sequential": lambda: m.SequentialLR(
            opt, [m.LinearLR(opt, 0.1, 1.0, 5), m.CosineAnnealingLR(opt, 10)], [5]
        ),
    }[name]()


def _run(lib, name, optimizer):
    w = lib.zeros(3, requires_grad=True)
    v = lib.zeros(2, requires_grad=True)
    opt = getattr(lib.optim, optimizer)([{"params": [w]}, {"params": [v], "lr": 0.05}], lr=0.1)
    sched = _sched(lib, name, opt)
    lrs, moms = [], []
    for i in range(40):
        opt.step()
        sched.step()
        if i == 15 and lib is ember and name not in ("lambda", "sequential"):
            # resume as a checkpoint would: new scheduler, then optimizer and scheduler state
            state, opt_state = sched.state_dict(), opt.state_dict()
            fresh = _sched(lib, name, opt)
            opt.load_state_dict(opt_state)
            fresh.load_state_dict(state)
            sched = fresh
        lrs.append([g["lr"] for g in opt.param_groups])
        g0 = opt.param_groups[0]
        moms.append(g0["betas"][0] if "betas" in g0 else g0.get("momentum", 0))
    return np.array(lrs), np.array(moms)


NAMES = [
    "step",
    "multistep",
    "exponential",
    "cosine",
    "linear",
    "lambda",
    "onecycle",
    "onecycle_linear_3phase",
    "sequential",
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_scheduler_matches_torch(name, optimizer):
    le, me = _run(ember, name, optimizer)
    lt, mt = _run(torch, name, optimizer)
    np.testing.assert_allclose(le, lt, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(me, mt, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode, threshold_mode", [("min", "rel"), ("max", "abs")])
def test_reduce_lr_on_plateau_matches_torch(mode, threshold_mode):
    metrics = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.8, 0.8, 0.8, 0.85, 0.8, 0.7, 0.7, 0.7, 0.7] * 2
    out = {}
    for lib in (ember, torch):
        w = lib.zeros(1, requires_grad=True)
        opt = lib.optim.SGD([w], lr=1.0)
        s = lib.optim.lr_scheduler.ReduceLROnPlateau(
            opt,
            mode=mode,
            factor=0.5,
            patience=2,
            threshold=0.01,
            threshold_mode=threshold_mode,
            cooldown=1,
            min_lr=0.01,
        )
        lrs = []
        for m in metrics:
            s.step(m)
            lrs.append(opt.param_groups[0]["lr"])
        out[lib.__name__] = lrs
    assert out["ember"] == out["torch"]


def test_onecycle_past_the_end_raises():
    opt = ember.optim.SGD([ember.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    s = ember.optim.lr_scheduler.OneCycleLR(opt, 1.0, total_steps=2)
    s.step()
    s.step()
    with pytest.raises(ValueError, match="tried to step 3 times"):
        s.step()
