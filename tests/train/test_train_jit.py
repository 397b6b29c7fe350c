"""``model.compile(..., jit=True)``: fit runs its train steps through ember.compile and
reports exactly what an eager fit reports; ``run_eagerly=True`` never compiles; a step that
cannot be traced warns once and trains eagerly."""

import warnings

import numpy as np
import pytest

import ember
from ember import nn
from ember.compiler.api import CompiledFunction
from ember.train.callbacks import Callback
from ember.train.jit import JitFallbackWarning


@pytest.fixture(scope="module")
def digits():
    ds = ember.datasets.digits()
    x, y = ds[:300]
    return x, y


class BatchLog(Callback):
    """Every logged value of every train batch, as the callbacks see them."""

    def __init__(self):
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(dict(logs))


def _convnet():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 36, 32),
        nn.ReLU(),
        nn.Linear(32, 10),
    )


def _fit(build, data, **compile_kw):
    ember.manual_seed(0)
    model = build()
    model.compile("adam", "cross_entropy", metrics=["accuracy"], **compile_kw)
    log = BatchLog()
    # 240 training samples in batches of 32: the last batch of each epoch has 16
    history = model.fit(
        *data, batch_size=32, epochs=2, verbose=0, validation_split=0.2, callbacks=[log]
    )
    return model, history.history, log.seen


def test_jit_fit_reports_exactly_what_eager_fit_reports(digits):
    eager_model, eager_hist, eager_seen = _fit(_convnet, digits, jit=False)
    jit_model, jit_hist, jit_seen = _fit(_convnet, digits, jit=True)
    assert jit_hist == eager_hist
    assert jit_seen == eager_seen
    assert eager_hist["loss"][1] < eager_hist["loss"][0]
    for (k, v), w in zip(eager_model.state_dict().items(), jit_model.state_dict().values()):
        np.testing.assert_array_equal(v.detach().numpy(), w.detach().numpy(), err_msg=k)
    step = jit_model.compiled.jit_step
    assert eager_model.compiled.jit_step is None
    # one graph for the full batches, one for the last batch of 16
    assert len(step.fn.programs) == 2
    assert step.failed is None


def test_jit_steps_run_the_graph(digits, monkeypatch):
    from ember.train.jit import JitStep

    calls = []
    core = JitStep.core

    def counting(self, x, y):
        calls.append(tuple(x.shape))
        return core(self, x, y)

    monkeypatch.setattr(JitStep, "core", counting)
    _fit(_convnet, digits, jit=True)
    # 16 steps; Python ran only to trace: twice for the full batch (the first optimizer step
    # creates state, so its graph is not kept) and once for the batch of 16
    assert len(calls) == 3
    assert sorted(set(calls)) == [(16, 1, 8, 8), (32, 1, 8, 8)]


def test_run_eagerly_never_compiles(digits, monkeypatch):
    calls = []
    original = CompiledFunction.__call__

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CompiledFunction, "__call__", counting)
    model, hist, _ = _fit(_convnet, digits, jit=True, run_eagerly=True)
    assert calls == [] and model.compiled.jit_step is None and not model.compiled.jit
    assert model.compiled.run_eagerly
    _fit(_convnet, digits, jit=True)
    assert len(calls) == 16  # the counter does see compiled steps


class ItemNet(nn.Module):
    """A forward that reads a tensor into Python: it cannot be traced."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32))
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        h = self.body(x)
        scale = 1.0 if h.abs().max().item() < 1e6 else 0.5
        return self.head(h.relu() * scale)


def test_untraceable_step_warns_once_and_trains_eagerly(digits):
    _, eager_hist, _ = _fit(ItemNet, digits, jit=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, jit_hist, _ = _fit(ItemNet, digits, jit=True)
    fallbacks = [w for w in caught if issubclass(w.category, JitFallbackWarning)]
    assert len(fallbacks) == 1
    assert "item" in str(fallbacks[0].message)
    assert model.compiled.jit_step.failed is not None
    # the partial traced call was undone (weights, batch-norm statistics, random state), so
    # the eager fallback trains exactly as an eager fit
    assert jit_hist == eager_hist
    assert jit_hist["loss"][1] < jit_hist["loss"][0]


def test_compile_records_the_jit_choice():
    model = nn.Linear(3, 2)
    model.compile("sgd", "mse")
    assert model.compiled.jit is False and model.compiled.run_eagerly is True
    model.compile("sgd", "mse", jit=True)
    assert model.compiled.jit is True and model.compiled.run_eagerly is False
    model.compile("sgd", "mse", run_eagerly=False)  # Keras: graph (compiled) steps
    assert model.compiled.jit is True
    model.compile("sgd", "mse", run_eagerly=False, jit=False)
    assert model.compiled.jit is False
