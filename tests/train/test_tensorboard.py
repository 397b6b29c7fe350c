"""TensorBoard callback: the event files are read back with TensorBoard's own reader."""

import os
import subprocess
import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import ember
from ember.train.callbacks import TensorBoard


def load_run(path):
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def make_model():
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))
    model.compile(ember.optim.SGD(model.parameters(), lr=0.1), "cross_entropy", ["accuracy"])
    x = ember.randn(96, 4)
    y = (x.sum(1) > 0).long()
    return model, x, y


def f32(values):
    # TensorBoard stores scalars as float32: the values read back equal these exactly.
    return [float(np.float32(v)) for v in values]


def test_epoch_scalars_equal_history(tmp_path):
    model, x, y = make_model()
    history = model.fit(
        x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.25,
        callbacks=[TensorBoard(tmp_path)],
    )  # fmt: skip
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]
    train, val = load_run(tmp_path / "train"), load_run(tmp_path / "validation")
    h = history.history
    for name in ("loss", "accuracy"):
        assert scalars(train, f"epoch_{name}") == list(zip(history.epoch, f32(h[name])))
        assert scalars(val, f"epoch_{name}") == list(zip(history.epoch, f32(h["val_" + name])))
    assert [v for _, v in scalars(train, "epoch_learning_rate")] == f32(h["lr"])
    assert sorted(train.Tags()["scalars"]) == [
        "epoch_accuracy", "epoch_learning_rate", "epoch_loss"
    ]  # fmt: skip
    assert sorted(val.Tags()["scalars"]) == ["epoch_accuracy", "epoch_loss"]
    assert train.Tags()["histograms"] == []


def test_learning_rate_follows_the_scheduler(tmp_path):
    model, x, y = make_model()
    sched = ember.train.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5**epoch)
    model.fit(x, y, batch_size=32, epochs=3, verbose=0, callbacks=[sched, TensorBoard(tmp_path)])
    lrs = [v for _, v in scalars(load_run(tmp_path / "train"), "epoch_learning_rate")]
    assert lrs == f32([0.1, 0.05, 0.025])
    assert not os.path.exists(tmp_path / "validation")  # no validation data, no run


def test_histograms_every_histogram_freq_epochs_match_the_weights(tmp_path):
    model, x, y = make_model()
    seen = {}

    class Snapshot(ember.train.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen[epoch] = {k: p.detach().numpy().copy() for k, p in model.named_parameters()}

    model.fit(
        x, y, batch_size=32, epochs=5, verbose=0,
        callbacks=[Snapshot(), TensorBoard(tmp_path, histogram_freq=2)],
    )  # fmt: skip
    train = load_run(tmp_path / "train")
    names = [k for k, _ in model.named_parameters()]
    assert sorted(train.Tags()["histograms"]) == sorted(names)
    for name in names:
        events = train.Histograms(name)
        assert [e.step for e in events] == [0, 2, 4]
        for e in events:
            w = seen[e.step][name].astype(np.float64)
            h = e.histogram_value
            assert h.num == w.size
            assert h.min == pytest.approx(w.min()) and h.max == pytest.approx(w.max())
            assert h.sum == pytest.approx(w.sum(), abs=1e-9)
            assert sum(h.bucket) == w.size


def test_batch_scalars_every_update_freq_steps(tmp_path):
    model, x, y = make_model()
    batch_logs = []

    class Record(ember.train.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batch_logs.append(float(logs["loss"]))

    model.fit(
        x, y, batch_size=16, epochs=2, verbose=0,
        callbacks=[Record(), TensorBoard(tmp_path, update_freq=4)],
    )  # fmt: skip
    got = scalars(load_run(tmp_path / "train"), "batch_loss")
    steps = [4, 8, 12]  # 6 batches per epoch, 12 in all
    assert got == list(zip(steps, f32([batch_logs[s - 1] for s in steps])))


def test_update_freq_batch_writes_every_batch(tmp_path):
    model, x, y = make_model()
    model.fit(
        x,
        y,
        batch_size=32,
        epochs=2,
        verbose=0,
        callbacks=[TensorBoard(tmp_path, update_freq="batch")],
    )
    got = scalars(load_run(tmp_path / "train"), "batch_loss")
    assert [s for s, _ in got] == [1, 2, 3, 4, 5, 6]


def test_write_graph_is_not_available_yet():
    with pytest.raises(
        NotImplementedError, match=r"TensorBoard: write_graph=True needs ember's graph compiler"
    ):
        TensorBoard("logs", write_graph=True)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"histogram_freq": -1}, r"TensorBoard: histogram_freq must be an int >= 0, got -1"),
        ({"histogram_freq": 1.5}, r"TensorBoard: histogram_freq must be an int >= 0, got 1.5"),
        ({"update_freq": "step"}, r"TensorBoard: update_freq must be .*, got 'step'"),
        ({"update_freq": 0}, r"TensorBoard: update_freq must be .*, got 0"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TensorBoard("logs", **kwargs)


def test_missing_tensorboardx_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(
        ImportError, match=r"TensorBoard: needs the tensorboardX package: pip install"
    ):
        TensorBoard("logs")


def test_does_not_import_torch(tmp_path):
    code = (
        "import sys, ember\n"
        "from ember.train.callbacks import TensorBoard\n"
        f"tb = TensorBoard({str(tmp_path)!r})\n"
        "tb.on_epoch_end(0, {'loss': 1.0})\n"
        "tb.on_train_end()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "import torch\n"  # and torch still imports normally afterwards
        "print(torch.ones(2).sum().item())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2.0"
