"""The ops that index rows by class target refuse a target out of bounds themselves, as
``nn.functional`` does: a compiled graph runs them on every call's targets without the
functional layer's check, and their native kernels would read outside the row."""

import numpy as np
import pytest
import torch

import ember
import ember.native
import ember.nn.functional as F
from ember import nn
from ember.errors import EmberIndexError
from ember.ir.errors import ExecutionError
from ember.ops.registry import OPS
from tests.steps import classifier_step

X = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
G = np.float32(1.0)


def _calls(t):
    kw = dict(ignore_index=-100, reduction="mean")
    return {
        "cross_entropy": lambda: OPS["softmax_cross_entropy"].forward(X, t, **kw),
        "cross_entropy_backward": lambda: OPS["softmax_cross_entropy_backward"].forward(
            G, X, t, **kw
        ),
        "with_grad": lambda: OPS["softmax_cross_entropy_with_grad"].forward(G, X, t, **kw),
        "nll_loss": lambda: OPS["nll_loss"].forward(X, t, None, **kw),
        "nll_loss_backward": lambda: OPS["nll_loss_backward"].forward(
            G, t, None, num_classes=5, **kw
        ),
    }


@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("bad", [5, -1, 2**40])
@pytest.mark.parametrize("which", list(_calls(None)))
def test_each_op_names_the_target_out_of_bounds(which, bad, native):
    t = np.array([0, 4, bad, -100])
    with ember.native.use(native), pytest.raises(EmberIndexError) as err:
        _calls(t)[which]()
    assert f"target {bad} is out of bounds for 5 classes (ignore_index=-100)" in str(err.value)
    with pytest.raises(IndexError):  # PyTorch refuses the same targets
        torch.nn.functional.cross_entropy(torch.tensor(X), torch.tensor(t))


@pytest.mark.parametrize("which", list(_calls(None)))
def test_valid_and_ignored_targets_pass(which):
    _calls(np.array([0, 4, -100, 2]))[which]()  # no error


def _model_and_step():
    ember.manual_seed(0)
    model = nn.Linear(5, 5)
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, ember.compile(classifier_step(model, opt))


def test_a_compiled_step_refuses_a_bad_target_after_good_calls():
    model, step = _model_and_step()
    x = ember.tensor(X)
    for _ in range(3):  # traced and cached: later calls run the graph alone
        step(x, ember.tensor(np.array([0, 1, 2, 3])))
    assert step.programs
    before = [p.detach().numpy().copy() for p in model.parameters()]
    with pytest.raises((EmberIndexError, ExecutionError), match="target 7 is out of bounds"):
        step(x, ember.tensor(np.array([0, 7, 2, 3])))
    for p, b in zip(model.parameters(), before):  # nothing updated
        np.testing.assert_array_equal(p.detach().numpy(), b)


def test_a_compiled_forward_refuses_a_bad_target():
    model = nn.Linear(5, 5)
    loss = ember.compile(lambda x, y: F.cross_entropy(model(x), y))
    x = ember.tensor(X)
    loss(x, ember.tensor(np.array([0, 1, 2, 3])))
    with pytest.raises((EmberIndexError, ExecutionError), match="target 9 is out of bounds"):
        loss(x, ember.tensor(np.array([0, 1, 9, 3])))
