"""50 training steps of four models in ember and in PyTorch from identical weights and
batches: the per-step losses agree to 1e-9 (relative) in float64 and 1e-3 in float32."""

import numpy as np
import pytest
import torch

import ember

from .models import lenet5, lstm_classifier, mlp, transformer_classifier

STEPS = 50


def _batches(kind, rng, dtype, distinct=5):
    """``STEPS`` batches cycling through a few fixed ones, so that the models can fit them."""
    if kind == "tokens":
        x = rng.integers(0, 50, (distinct, 8, 12))
        y = rng.integers(0, 4, (distinct, 8))
    else:
        shape = {"mlp": (distinct, 32, 784), "image": (distinct, 16, 1, 28, 28)}[kind]
        x, y = rng.standard_normal(shape).astype(dtype), rng.integers(0, 10, shape[:2])
    order = np.arange(STEPS) % distinct
    return x[order], y[order]


CASES = [
    ("mlp", mlp, "mlp", "SGD", dict(lr=0.05, momentum=0.9)),
    ("lenet5", lenet5, "image", "SGD", dict(lr=0.05, momentum=0.9, weight_decay=1e-4)),
    ("lstm", lstm_classifier, "tokens", "Adam", dict(lr=1e-2)),
    ("transformer", transformer_classifier, "tokens", "AdamW", dict(lr=1e-3)),
]


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-9), ("float32", 1e-3)])
@pytest.mark.parametrize("name, build, data, opt, kwargs", CASES, ids=[c[0] for c in CASES])
def test_losses_match_torch_step_by_step(name, build, data, opt, kwargs, dtype, rtol):
    torch.manual_seed(0)
    t_model = build(torch.nn).to(getattr(torch, dtype))
    e_model = build(ember.nn).to(getattr(ember, dtype))
    e_model.load_state_dict(
        {k: ember.tensor(v.detach().numpy()) for k, v in t_model.state_dict().items()}
    )
    t_opt = getattr(torch.optim, opt)(t_model.parameters(), **kwargs)
    e_opt = getattr(ember.optim, opt)(e_model.parameters(), **kwargs)
    xs, ys = _batches(data, np.random.default_rng(1), dtype)
    t_losses, e_losses = [], []
    for x, y in zip(xs, ys):
        for lib, model, o, out in (
            (torch, t_model, t_opt, t_losses),
            (ember, e_model, e_opt, e_losses),
        ):
            loss = lib.nn.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y))
            o.zero_grad()
            loss.backward()
            o.step()
            out.append(loss.item())
    np.testing.assert_allclose(e_losses, t_losses, rtol=rtol)
    assert t_losses[-1] < t_losses[0]  # the models did train
