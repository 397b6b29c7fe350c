"""Callbacks on crafted curves, with the expected behaviour worked out from Keras's documented
rules (comments give the epoch-by-epoch reasoning), and driven through real ``fit`` calls."""

import os

import numpy as np
import pytest
import torch

import ember
from ember import nn
from ember.errors import EmberValueError
from ember.train import callbacks as cb
from ember.train import load_checkpoint


def linear_model(value=0.0):
    model = nn.Linear(1, 1, bias=False)
    nn.init.constant_(model.weight, value)
    model.compile(ember.optim.SGD(model.parameters(), lr=1.0), "mse")
    return model


def drive(callback, values, monitor="val_loss", model=None, on_epoch=None):
    """Run epochs with crafted logs until the callback stops training; returns epochs run."""
    model = model or linear_model()
    callback.set_model(model)
    callback.set_params({"epochs": len(values), "steps": 1, "verbose": 0})
    object.__setattr__(model, "stop_training", False)
    callback.on_train_begin()
    run = 0
    for epoch, v in enumerate(values):
        callback.on_epoch_begin(epoch)
        if on_epoch:
            on_epoch(model, epoch)
        callback.on_epoch_end(epoch, {monitor: v})
        run += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return run


# ---- EarlyStopping -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, values, expected",
    [
        # constant loss, patience 3: epoch 0 sets the best, epochs 1-3 wait 1..3 -> stop after 4
        (dict(monitor="loss", patience=3), [1.0] * 8, 4),
        # patience 0: the first non-improving epoch (1) stops
        (dict(monitor="loss"), [1.0] * 8, 2),
        # min_delta 0.05: 0.95 is not an improvement on 1.0 (needs < 0.95); patience 1 stops
        (dict(min_delta=0.05, patience=1), [1.0, 0.95, 0.91, 0.88, 0.86], 2),
        # patience 2: 0.91 improves (0.96 < 1.0), 0.88 and 0.86 do not beat 0.91 by 0.05
        (dict(min_delta=0.05, patience=2), [1.0, 0.95, 0.91, 0.88, 0.86, 0.5], 5),
        # accuracy is maximised: 0.6 improves, 0.6 and 0.55 do not -> stop at epoch 3
        (dict(monitor="val_accuracy", patience=2), [0.5, 0.6, 0.6, 0.55, 0.7], 4),
        # mode='min' on an accuracy name overrides auto
        (dict(monitor="val_accuracy", mode="min", patience=1), [0.5, 0.6, 0.7], 2),
        # improving curve: never stops
        (dict(patience=1), [0.9, 0.8, 0.7, 0.6], 4),
        # baseline 0.5 not beaten: improvements keep the wait counting (1, 2), 0.85 makes 3 >= 2
        (dict(patience=2, baseline=0.5), [0.9, 0.8, 0.85, 0.7], 3),
        # same curve without a baseline: 0.85 is the first wait, 0.7 improves
        (dict(patience=2), [0.9, 0.8, 0.85, 0.7], 4),
        # warm-up: epochs 0-1 ignored, epoch 2 sets the best, epoch 3 stops (patience 0)
        (dict(start_from_epoch=2), [1.0] * 6, 4),
    ],
)
def test_early_stopping_on_crafted_curves(kwargs, values, expected):
    monitor = kwargs.get("monitor", "val_loss")
    assert drive(cb.EarlyStopping(**kwargs), values, monitor) == expected


def test_early_stopping_restores_best_weights_at_train_end():
    def set_weight(model, epoch):
        model.weight._data[...] = epoch

    es = cb.EarlyStopping(patience=2, restore_best_weights=True)
    model = linear_model()
    # best val_loss at epoch 1; epochs 2, 3 wait -> stop at 3, weights of epoch 1 come back
    assert drive(es, [3.0, 1.0, 2.0, 4.0, 0.5], model=model, on_epoch=set_weight) == 4
    assert es.stopped_epoch == 3 and es.best_epoch == 1
    assert float(model.weight._data[0, 0]) == 1.0
    # Keras restores even when training ran to the end without stopping
    es2 = cb.EarlyStopping(patience=5, restore_best_weights=True)
    drive(es2, [3.0, 1.0, 2.0], model=model, on_epoch=set_weight)
    assert float(model.weight._data[0, 0]) == 1.0


def test_early_stopping_in_fit_keras_doc_example():
    # Keras's docstring example: the loss does not improve (here lr=0 keeps it constant), so
    # with patience 3 only 4 epochs run.
    ember.manual_seed(0)
    model = nn.Linear(20, 10)
    model.compile(ember.optim.SGD(model.parameters(), lr=0.0), "mse")
    x, y = ember.randn(5, 20), ember.zeros(5, 10)
    es = cb.EarlyStopping(monitor="loss", patience=3)
    history = model.fit(x, y, epochs=10, batch_size=1, callbacks=[es], verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 4
    assert history.epoch == [0, 1, 2, 3]


def test_early_stopping_errors_and_missing_monitor():
    with pytest.raises(EmberValueError, match="EarlyStopping: mode must be 'auto', 'min' or 'max'"):
        cb.EarlyStopping(mode="up")
    es = cb.EarlyStopping(monitor="val_weird")
    es.set_model(linear_model())
    with pytest.raises(EmberValueError, match="EarlyStopping: cannot tell whether 'val_weird'"):
        es.on_train_begin()
    es2 = cb.EarlyStopping(monitor="val_loss")
    with pytest.warns(UserWarning, match="monitor 'val_loss' is not in the logs"):
        drive(es2, [1.0], monitor="loss")


# ---- ModelCheckpoint -------------------------------------------------------------------------


def test_model_checkpoint_save_best_only_min_and_max(tmp_path):
    pattern = str(tmp_path / "m-{epoch:02d}-{val_loss:.2f}.safetensors")
    drive(
        cb.ModelCheckpoint(pattern, save_best_only=True, save_weights_only=True),
        [0.5, 0.7, 0.25, 0.3, 0.1],
    )
    assert sorted(os.listdir(tmp_path)) == [
        "m-01-0.50.safetensors",
        "m-03-0.25.safetensors",
        "m-05-0.10.safetensors",
    ]
    acc_dir = tmp_path / "acc"
    pattern = str(acc_dir / "a-{epoch}.safetensors")  # the folder is created on demand
    drive(
        cb.ModelCheckpoint(pattern, monitor="val_accuracy", save_best_only=True),
        [0.5, 0.4, 0.6, 0.6],
        monitor="val_accuracy",
    )
    assert sorted(os.listdir(acc_dir)) == ["a-1.safetensors", "a-3.safetensors"]


def test_model_checkpoint_every_epoch_and_initial_threshold(tmp_path):
    drive(cb.ModelCheckpoint(str(tmp_path / "e{epoch}.st")), [0.5, 0.7, 0.6])
    assert sorted(os.listdir(tmp_path)) == ["e1.st", "e2.st", "e3.st"]
    sub = tmp_path / "t"
    check = cb.ModelCheckpoint(
        str(sub / "b{epoch}.st"), save_best_only=True, initial_value_threshold=0.4
    )
    drive(check, [0.5, 0.3, 0.35, 0.2])
    assert sorted(os.listdir(sub)) == ["b2.st", "b4.st"]


def test_model_checkpoint_weights_match_the_model_at_save_time(tmp_path):
    path = str(tmp_path / "w{epoch}.safetensors")

    def set_weight(model, epoch):
        model.weight._data[...] = 10 + epoch

    drive(cb.ModelCheckpoint(path, save_weights_only=True), [1, 2, 3], on_epoch=set_weight)
    for epoch in (1, 2, 3):
        state = ember.load(path.format(epoch=epoch))
        assert list(state) == ["weight"]
        assert float(state["weight"]._data[0, 0]) == 10 + epoch - 1


def test_model_checkpoint_full_checkpoint_records_finished_epochs(tmp_path):
    path = str(tmp_path / "full.safetensors")
    model = linear_model(0.0)
    drive(cb.ModelCheckpoint(path), [1.0, 0.5], model=model)
    fresh = nn.Linear(1, 1, bias=False)
    opt = ember.optim.SGD(fresh.parameters(), lr=0.5)
    assert load_checkpoint(path, fresh, opt) == 2
    assert opt.param_groups[0]["lr"] == 1.0  # the saved optimizer's
    np.testing.assert_array_equal(fresh.weight._data, model.weight._data)


def test_model_checkpoint_save_freq_in_batches(tmp_path):
    # 5 batches per epoch, save every 2: the count carries over epochs as in Keras
    # -> epoch 1 batches 2, 4; epoch 2 batches 1, 3, 5.
    model = nn.Linear(3, 1)
    model.compile("sgd", "mse")
    x, y = ember.randn(10, 3), ember.randn(10, 1)
    path = str(tmp_path / "{epoch}-{batch}.st")
    model.fit(
        x,
        y,
        batch_size=2,
        epochs=2,
        verbose=0,
        callbacks=[cb.ModelCheckpoint(path, save_freq=2, save_weights_only=True)],
    )
    assert sorted(os.listdir(tmp_path)) == ["1-2.st", "1-4.st", "2-1.st", "2-3.st", "2-5.st"]


def test_model_checkpoint_errors(tmp_path):
    with pytest.raises(EmberValueError, match="ModelCheckpoint: save_freq must be 'epoch' or a"):
        cb.ModelCheckpoint("x", save_freq="batch")
    bad = cb.ModelCheckpoint(str(tmp_path / "{val_acc:.2f}.st"))
    with pytest.raises(EmberValueError, match=r"ModelCheckpoint: cannot format filepath .*val_acc"):
        drive(bad, [1.0])
    with pytest.warns(UserWarning, match="ModelCheckpoint: can save the best model only with"):
        drive(cb.ModelCheckpoint(str(tmp_path / "s.st"), save_best_only=True), [1.0], "loss")
    assert os.path.exists(tmp_path / "s.st")  # saved anyway, as Keras does


# ---- ReduceLROnPlateau / LearningRateScheduler / SchedulerCallback ---------------------------


def lr_curve(callback, values, monitor="val_loss", lr=1.0):
    """The lr after each epoch's callback ran."""
    model = linear_model()
    model.compiled.optimizer.param_groups[0]["lr"] = lr
    out = []
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, v in enumerate(values):
        callback.on_epoch_end(epoch, {monitor: v})
        out.append(model.compiled.optimizer.param_groups[0]["lr"])
    return out


@pytest.mark.parametrize(
    "kwargs, values, expected",
    [
        # flat curve, patience 2: wait 1, 2 -> reduce at epoch 2 and again two epochs later
        (dict(factor=0.5, patience=2), [1.0] * 7, [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125]),
        # cooldown 2: epochs 3 (cooldown) and 4 (cooldown ends, wait 1) -> next cut at epoch 5
        (dict(factor=0.5, patience=2, cooldown=2), [1.0] * 7, [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]),
        # min_lr: 1 -> 0.1 -> max(0.01, 0.05) -> stays at 0.05
        (dict(factor=0.1, patience=1, min_lr=0.05), [1.0] * 4, [1, 0.1, 0.05, 0.05]),
        # improvements reset the wait: 0.9 and 0.8 improve, 0.85 and 0.86 wait -> cut at epoch 5
        (dict(patience=2, min_delta=0), [1.0, 0.9, 0.95, 0.8, 0.85, 0.86], [1] * 5 + [0.1]),
        # min_delta 0.1: 0.95 is no improvement on 1.0 (cut), 0.85 is (best becomes 0.85)
        (dict(patience=1, min_delta=0.1), [1.0, 0.95, 0.85, 0.8], [1, 0.1, 0.1, 0.01]),
    ],
)
def test_reduce_lr_on_plateau_on_crafted_curves(kwargs, values, expected):
    got = lr_curve(cb.ReduceLROnPlateau(**kwargs), values)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_reduce_lr_on_plateau_maximizes_accuracy_and_rejects_factor():
    got = lr_curve(
        cb.ReduceLROnPlateau(monitor="val_accuracy", patience=1),
        [0.5, 0.6, 0.55],
        monitor="val_accuracy",
    )
    np.testing.assert_allclose(got, [1, 1, 0.1])
    with pytest.raises(EmberValueError, match=r"ReduceLROnPlateau: factor must be < 1.0, got 1.5"):
        cb.ReduceLROnPlateau(factor=1.5)


class ConstantLoss(nn.Module):
    """A model whose custom train_step only reports a constant loss (no update)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(1, 1)

    def forward(self, x):
        return self.lin(x)

    def train_step(self, batch):
        return {"loss": 1.0}


def test_reduce_lr_on_plateau_in_fit_and_lr_in_history():
    model = ConstantLoss()
    model.compile(ember.optim.SGD(model.parameters(), lr=1.0), "mse")
    history = model.fit(
        ember.zeros(4, 1),
        ember.zeros(4, 1),
        epochs=5,
        verbose=0,
        callbacks=[cb.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)],
    )
    # the lr logged is the one the epoch trained with; each cut applies from the next epoch
    assert history.history["lr"] == [1.0, 1.0, 0.5, 0.25, 0.125]


def test_learning_rate_scheduler_in_fit():
    model = ConstantLoss()
    model.compile("sgd", "mse")
    x = ember.zeros(4, 1)
    h = model.fit(
        x,
        x,
        epochs=3,
        verbose=0,
        callbacks=[cb.LearningRateScheduler(lambda epoch, lr: 0.1 * (epoch + 1))],
    )
    np.testing.assert_allclose(h.history["lr"], [0.1, 0.2, 0.3])
    h = model.fit(
        x, x, epochs=2, verbose=0, callbacks=[cb.LearningRateScheduler(lambda epoch: 0.5**epoch)]
    )
    assert h.history["lr"] == [1.0, 0.5]
    with pytest.raises(
        EmberValueError, match="LearningRateScheduler: schedule must return a float"
    ):
        model.fit(x, x, verbose=0, callbacks=[cb.LearningRateScheduler(lambda e, lr: "fast")])


def test_scheduler_callback_steps_ember_schedulers():
    model = ConstantLoss()
    opt = ember.optim.SGD(model.parameters(), lr=1.0)
    model.compile(opt, "mse")
    x = ember.zeros(8, 1)
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    h = model.fit(x, x, epochs=3, verbose=0, callbacks=[cb.SchedulerCallback(sched)])
    assert h.history["lr"] == [1.0, 0.5, 0.25]
    per_step = ember.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    model.fit(
        x,
        x,
        batch_size=2,
        epochs=2,
        verbose=0,
        callbacks=[cb.SchedulerCallback(per_step, interval="step")],
    )
    assert per_step.last_epoch == 8  # 4 steps x 2 epochs
    opt.param_groups[0]["lr"] = 1.0
    plateau = ember.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    h = model.fit(
        x, x, epochs=3, verbose=0, callbacks=[cb.SchedulerCallback(plateau, monitor="loss")]
    )
    # PyTorch's ReduceLROnPlateau fed the same constant loss after each epoch
    w = torch.zeros(1, requires_grad=True)
    t_opt = torch.optim.SGD([w], lr=1.0)
    t_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, patience=0, factor=0.5)
    expected = []
    for _ in range(3):
        expected.append(t_opt.param_groups[0]["lr"])
        t_sched.step(1.0)
    assert h.history["lr"] == expected
    with pytest.raises(EmberValueError, match="SchedulerCallback: interval must be 'epoch' or"):
        cb.SchedulerCallback(sched, interval="batch")
    with pytest.raises(EmberValueError, match="SchedulerCallback: monitor 'val_loss' is not in"):
        model.fit(x, x, verbose=0, callbacks=[cb.SchedulerCallback(plateau)])


# ---- TerminateOnNaN / LambdaCallback / hooks ---------------------------------------------------


def test_terminate_on_nan_stops_mid_epoch(capsys):
    model = nn.Linear(2, 1)
    model.compile("sgd", "mse")
    x = ember.ones(200, 2)
    x._data[70] = np.nan  # in batch 2 (rows 64-95) of an unshuffled pass
    seen = []
    h = model.fit(
        x,
        ember.ones(200, 1),
        epochs=3,
        shuffle=False,
        verbose=0,
        callbacks=[
            cb.TerminateOnNaN(),
            cb.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b)),
        ],
    )
    assert seen == [0, 1, 2]
    assert h.epoch == [0] and np.isnan(h.history["loss"][0])
    assert "Batch 2: Invalid loss, terminating training" in capsys.readouterr().out


def test_hook_order_in_fit_with_validation():
    events = []
    names = [
        "on_train_begin",
        "on_train_end",
        "on_epoch_begin",
        "on_epoch_end",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_test_begin",
        "on_test_end",
        "on_test_batch_begin",
        "on_test_batch_end",
    ]

    def recorder(name):
        return lambda *args: events.append(name)

    hooks = {name: recorder(name) for name in names}
    model = nn.Linear(2, 1)
    model.compile("sgd", "mse")
    x, y = ember.randn(4, 2), ember.randn(4, 1)
    model.fit(
        x,
        y,
        batch_size=2,
        epochs=1,
        validation_data=(x[:2], y[:2]),
        verbose=0,
        callbacks=[cb.LambdaCallback(**hooks)],
    )
    assert events == [
        "on_train_begin",
        "on_epoch_begin",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_test_begin",
        "on_test_batch_begin",
        "on_test_batch_end",
        "on_test_end",
        "on_epoch_end",
        "on_train_end",
    ]
    with pytest.raises(EmberValueError, match="LambdaCallback: unknown hook 'on_batch_end'"):
        cb.LambdaCallback(on_batch_end=print)


def test_callbacks_get_model_and_params():
    got = {}

    class Spy(cb.Callback):
        def on_train_begin(self, logs=None):
            got["model"], got["params"] = self.model, dict(self.params)

    model = nn.Linear(2, 1)
    model.compile("sgd", "mse")
    model.fit(
        ember.randn(10, 2), ember.randn(10, 1), batch_size=4, epochs=3, verbose=0, callbacks=[Spy()]
    )
    assert got["model"] is model
    assert got["params"] == {"epochs": 3, "steps": 3, "verbose": 0, "batch_size": 4, "samples": 10}


def test_stop_training_from_epoch_end_stops_after_that_epoch():
    def stop(epoch, logs):
        if epoch == 1:
            model.stop_training = True

    model = nn.Linear(2, 1)
    model.compile("sgd", "mse")
    h = model.fit(
        ember.randn(8, 2),
        ember.randn(8, 1),
        epochs=5,
        verbose=0,
        callbacks=[cb.LambdaCallback(on_epoch_end=stop)],
    )
    assert h.epoch == [0, 1]


# ---- History.plot ------------------------------------------------------------------------------


def test_history_plot_png_size(tmp_path):
    import matplotlib.image as mpimg

    model = nn.Linear(2, 2)
    model.compile("sgd", "cross_entropy", metrics=["accuracy"])
    x, y = ember.randn(20, 2), ember.randint(0, 2, (20,))
    h = model.fit(
        x,
        y,
        epochs=3,
        validation_split=0.25,
        verbose=0,
        callbacks=[cb.LearningRateScheduler(lambda e, lr: 0.1 / (e + 1))],
    )
    path = tmp_path / "history.png"
    assert h.plot(path, dpi=50) == str(path)
    image = mpimg.imread(path)
    # three panels (loss, accuracy, and lr since it changed), each 4 x 3 inches at 50 dpi
    assert image.shape[:2] == (150, 600)
    assert os.listdir(tmp_path) == ["history.png"]  # no temporary file left behind
    h.history.pop("lr")
    h.plot(path, dpi=20, panel_size=(5, 2))
    assert mpimg.imread(path).shape[:2] == (40, 200)
    with pytest.raises(ValueError, match="History.plot: nothing to plot"):
        cb.History().plot(tmp_path / "empty.png")


def test_auto_mode_reads_compiled_metric_directions():
    def error_rate(y_pred, y_true):
        return (y_pred.argmax(1) != y_true).float().mean()

    model = nn.Linear(2, 2)
    model.compile(
        "sgd",
        "cross_entropy",
        metrics=[
            "auc",
            ember.train.metrics.MeanMetricWrapper(error_rate, direction="down"),
            ember.train.metrics.MeanMetricWrapper(error_rate, name="unknown"),
        ],
    )
    # val_auc goes up: 0.7 then 0.6 is a wait -> patience 1 stops at epoch 1
    assert drive(cb.EarlyStopping("val_auc", patience=1), [0.7, 0.6, 0.8], "val_auc", model) == 2
    # error_rate goes down: a falling curve never stops
    assert (
        drive(
            cb.EarlyStopping("val_error_rate", patience=1), [0.5, 0.4, 0.3], "val_error_rate", model
        )
        == 3
    )
    es = cb.EarlyStopping("val_unknown")
    es.set_model(model)
    with pytest.raises(EmberValueError, match="cannot tell whether 'val_unknown' should be"):
        es.on_train_begin()
