"""Every optimizer against PyTorch's over 30 steps, with a state_dict round trip (through an
ember checkpoint file) in the middle."""

import numpy as np
import pytest
import torch

import ember

CONFIGS = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
]


def _problem(lib, dtype):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((8, 3)), dtype=dtype)
    y = lib.tensor(rng.standard_normal((8, 2)), dtype=dtype)
    w = lib.tensor(rng.standard_normal((3, 2)), dtype=dtype, requires_grad=True)
    b = lib.tensor(rng.standard_normal(2), dtype=dtype, requires_grad=True)
    return x, y, w, b


def _loss(x, y, w, b):
    r = x @ w + b - y
    return (r * r).sum() * 0.1


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-9), ("float32", 1e-4)])
@pytest.mark.parametrize(
    "name, kwargs", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)]
)
def test_optimizer_matches_torch(name, kwargs, dtype, rtol, tmp_path):
    xe, ye, we, be = _problem(ember, getattr(ember, dtype))
    xt, yt, wt, bt = _problem(torch, getattr(torch, dtype))
    # two parameter groups, the second with its own lr, to exercise groups too
    groups = lambda w, b: [{"params": [w]}, {"params": [b], "lr": kwargs["lr"] * 0.5}]
    oe = getattr(ember.optim, name)(groups(we, be), **kwargs)
    ot = getattr(torch.optim, name)(groups(wt, bt), **kwargs)
    for step in range(30):
        le, lt = _loss(xe, ye, we, be), _loss(xt, yt, wt, bt)
        np.testing.assert_allclose(le.item(), lt.item(), rtol=rtol, err_msg=f"step {step}")
        le.backward()
        lt.backward()
        oe.step()
        ot.step()
        oe.zero_grad()
        ot.zero_grad()
        if step == 12:
            path = tmp_path / "opt.safetensors"
            ember.save(oe.state_dict(), path)
            oe = getattr(ember.optim, name)(groups(we, be), **kwargs)
            oe.load_state_dict(ember.load(path))
    np.testing.assert_allclose(we.detach().numpy(), wt.detach().numpy(), rtol=rtol, atol=rtol)


def test_zero_grad_keeps_or_drops():
    w = ember.ones(2, requires_grad=True)
    opt = ember.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


def test_step_skips_params_without_grad_and_closure_returns_loss():
    a, b = ember.ones(2, requires_grad=True), ember.ones(2, requires_grad=True)
    opt = ember.optim.SGD([a, b], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 2.0
    assert a.tolist() == [0.0, 0.0] and b.tolist() == [1.0, 1.0]


def test_state_dict_layout_matches_torch():
    we = ember.ones(2, requires_grad=True)
    wt = torch.ones(2, requires_grad=True)
    oe, ot = ember.optim.Adam([we], lr=0.1), torch.optim.Adam([wt], lr=0.1)
    for w, o in ((we, oe), (wt, ot)):
        (w * w).sum().backward()
        o.step()
    se, st = oe.state_dict(), ot.state_dict()
    assert set(se["state"][0]) == set(st["state"][0])
    assert set(se["param_groups"][0]) <= set(st["param_groups"][0])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: ember.optim.SGD(p, lr=-1), "invalid learning rate"),
        (lambda p: ember.optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
        (lambda p: ember.optim.Adam(p, betas=(1.0, 0.9)), "invalid betas"),
        (lambda p: ember.optim.SGD([], lr=0.1), "empty parameter list"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make([ember.ones(1, requires_grad=True)])


def test_load_state_dict_mismatch_is_named():
    w = ember.ones(2, requires_grad=True)
    opt = ember.optim.Adam([w])
    (w * w).sum().backward()
    opt.step()
    other = ember.optim.Adam([ember.ones(3, requires_grad=True)])
    with pytest.raises(ember.optim.OptimizerStateError, match=r"exp_avg.*shape \(2,\).*\(3,\)"):
        other.load_state_dict(opt.state_dict())
    two = ember.optim.Adam([ember.ones(2, requires_grad=True), ember.ones(2, requires_grad=True)])
    with pytest.raises(ember.optim.OptimizerStateError, match="1 parameters in the state but 2"):
        two.load_state_dict(opt.state_dict())
