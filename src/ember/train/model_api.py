"""The Keras-style model API behind ``Module.compile/fit/evaluate/predict/train_step/test_step``.

Any ``ember.nn.Module`` (a subclass or a ``Sequential``) has these methods; they delegate
here, and the compiled configuration lives in the one attribute ``model.compiled``.

>>> import ember
>>> _ = ember.manual_seed(0)
>>> x = ember.randn(64, 4)
>>> y = (x.sum(1) > 0).long()
>>> model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))
>>> model.compile("adam", "cross_entropy", metrics=["accuracy"])
>>> history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
>>> sorted(history.history), len(history.history["loss"])
(['accuracy', 'loss', 'lr'], 3)
>>> model.predict(x[:5], verbose=0).shape
(5, 2)
"""

from __future__ import annotations

import numpy as np

from ember.core.grad_mode import no_grad
from ember.core.tensor import Tensor, _wrap
from ember.errors import EmberValueError
from ember.train import adapters
from ember.train.callbacks import CallbackList, History, ProgressBar
from ember.train.config import Compiled

__all__ = ["compile", "evaluate", "fit", "predict", "test_step", "train_step"]


def compile(  # noqa: A001
    model, optimizer="rmsprop", loss=None, metrics=None, run_eagerly=None, jit=None
) -> None:
    """Resolve names (``'adam'``, ``'cross_entropy'``, ``'accuracy'`` ...) into objects and
    store them in ``model.compiled``. ``jit=True`` makes ``fit`` run each train step through
    ``ember.compile`` (see ``ember.train.jit``; a step that cannot be traced warns and runs
    eagerly); ``run_eagerly=True`` forces eager steps whatever ``jit`` says."""
    c = Compiled(model, optimizer, loss, metrics, run_eagerly, jit)
    object.__setattr__(model, "compiled", c)


def _compiled(model, where: str) -> Compiled:
    c = model.__dict__.get("compiled")
    if c is None:
        raise EmberValueError(
            f"{where}: {type(model).__name__} is not compiled; call "
            "model.compile(optimizer, loss, metrics) first"
        )
    return c


def _param_dtype(model):
    for p in model.parameters():
        if p._data.dtype.kind == "f":
            return p._data.dtype
    return None


# ---- steps (overridable on the model) ---------------------------------------------------------


def unpack(batch):
    """``(x, y)`` from a batch: a (x, y) pair, a 1-tuple (x,) or a bare input."""
    if isinstance(batch, (tuple, list)):
        if len(batch) == 2:
            return batch[0], batch[1]
        if len(batch) == 1:
            return batch[0], None
        raise EmberValueError(
            f"train_step: expected batches (x, y), got a {type(batch).__name__} of "
            f"{len(batch)} items (override train_step/test_step to handle them)"
        )
    return batch, None


def _forward(model, x):
    return model(*x) if isinstance(x, tuple) else model(x)


def _loss(c: Compiled, y_pred, y, where: str):
    if c.loss is None:
        raise EmberValueError(f"{where}: compile() was given no loss")
    if y is None:
        raise EmberValueError(f"{where}: the batch has no labels (pass y, or (x, y) batches)")
    return c.loss(y_pred, y)


def train_step(model, batch):
    """Forward, loss, backward, optimizer step, metric updates; returns the running logs."""
    c = model.compiled
    x, y = unpack(batch)
    out = _jit_step(model, c, x, y)
    if out is not None:
        loss, y_pred = out
        return c.update_metrics(loss, y_pred, y)
    y_pred = _forward(model, x)
    loss = _loss(c, y_pred, y, "train_step")
    opt = c.optimizer
    opt.zero_grad()
    loss.backward()
    opt.step()
    return c.update_metrics(loss, y_pred, y)


def _jit_step(model, c: Compiled, x, y):
    """``(loss, y_pred)`` from the compiled step, or None to run the step eagerly."""
    if not c.jit or y is None or c.loss is None:  # the eager step raises the clear error
        return None
    if c.jit_step is None:
        from ember.train.jit import JitStep

        c.jit_step = JitStep(model, c)
    return c.jit_step(x, y)


def test_step(model, batch):
    """Forward and loss (no gradients), metric updates; returns the running logs."""
    c = model.compiled
    x, y = unpack(batch)
    y_pred = _forward(model, x)
    return c.update_metrics(_loss(c, y_pred, y, "test_step"), y_pred, y)


# ---- fit ------------------------------------------------------------------------------------


def _verbose(verbose, where: str) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise EmberValueError(f"{where}: verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


def _callbacks(callbacks, verbose: int, model, params: dict, history: bool):
    cbs = list(callbacks or [])
    hist = next((cb for cb in cbs if isinstance(cb, History)), None)
    if history and hist is None:
        hist = History()
        cbs.append(hist)
    if verbose and not any(isinstance(cb, ProgressBar) for cb in cbs):
        cbs.append(ProgressBar())
    cl = CallbackList(cbs)
    cl.set_model(model)
    cl.set_params(params)
    return cl, hist


def _check_labels(c: Compiled, src, where: str) -> None:
    probe = src.probe
    if c.loss is None or probe is None or probe[1] is None:
        return
    c.loss.check_labels(probe[1], probe[2], where)


def _fit_sources(model, c, x, y, batch_size, shuffle, validation_split, validation_data, steps):
    dtype = _param_dtype(model)
    x = adapters.cast_floats(x, dtype)
    val = None
    if validation_data is not None:  # as in Keras, it overrides validation_split
        vx, vy = _validation_pair(validation_data)
        val = adapters.source(adapters.cast_floats(vx, dtype), vy, batch_size, False, None, "fit")
    elif validation_split:
        x, y, vx, vy = adapters.split(x, y, validation_split)
        val = adapters.source(vx, vy, batch_size, False, None, "fit")
    train = adapters.source(x, y, batch_size, shuffle, steps, "fit")
    for src in (train, val):
        if src is not None:
            _check_labels(c, src, "fit")
    return train, val


def _validation_pair(data):
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise EmberValueError(
                f"fit: validation_data must be (x_val, y_val), a DataLoader or a Dataset; got a "
                f"{type(data).__name__} of {len(data)} items"
            )
        return data[0], data[1]
    return data, None


def _prepare(model, c: Compiled, train) -> None:
    """Build a lazily created optimizer (one dry forward materialises lazy layers) and record
    the input shape for ``summary``."""
    if train.probe is None:
        if c.optimizer is None:
            raise EmberValueError("fit: lazy layers need map-style data to be built before fit")
        return
    sample = train.probe[0]
    arr = sample._data if isinstance(sample, Tensor) else np.asarray(sample)
    c.input_spec = (tuple(arr.shape), arr.dtype)
    if c.optimizer is None:
        modes = [(m, m.training) for m in model.modules()]
        with no_grad():
            model.eval()
            model(_wrap(arr[None]))
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
        c.build_optimizer(model)


def fit(
    model,
    x=None,
    y=None,
    batch_size=32,
    epochs=1,
    verbose="auto",
    callbacks=None,
    validation_split=0.0,
    validation_data=None,
    shuffle=True,
    initial_epoch=0,
    steps_per_epoch=None,
):
    """Train for ``epochs`` epochs (from ``initial_epoch``); returns the ``History``.

    Every argument is checked, and the labels against the loss, before the first step.
    """
    c = _compiled(model, "fit")
    verbose = _verbose(verbose, "fit")
    if initial_epoch < 0 or epochs < initial_epoch:
        raise EmberValueError(
            f"fit: need 0 <= initial_epoch <= epochs, got initial_epoch={initial_epoch}, "
            f"epochs={epochs}"
        )
    train, val = _fit_sources(
        model, c, x, y, batch_size, shuffle, validation_split, validation_data, steps_per_epoch
    )
    _prepare(model, c, train)
    params = {
        "epochs": epochs,
        "steps": train.steps,
        "verbose": verbose,
        "batch_size": train.batch_size,
        "samples": train.samples,
    }
    cbs, history = _callbacks(callbacks, verbose, model, params, history=True)
    modes = [(m, m.training) for m in model.modules()]
    try:
        _epochs(model, c, train, val, cbs, initial_epoch, epochs)
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    return history


def _epochs(model, c: Compiled, train, val, cbs, initial_epoch: int, epochs: int) -> None:
    object.__setattr__(model, "stop_training", False)
    cbs.on_train_begin()
    logs = {}
    for epoch in range(initial_epoch, epochs):
        c.reset_metrics()
        model.train()
        cbs.on_epoch_begin(epoch)
        last = _train_epoch(model, train, cbs)
        logs = dict(last) if last is not None else {}
        if val is not None:
            val_logs = _run_test(model, c, val, cbs)
            logs.update({"val_" + k: v for k, v in val_logs.items()})
        logs["lr"] = c.lr
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end(logs)


def _train_epoch(model, train, cbs):
    step_fn = model.train_step
    begin, end = cbs.on_train_batch_begin, cbs.on_train_batch_end
    logs = None
    for step, batch in enumerate(train.epoch()):
        begin(step)
        logs = step_fn(batch)
        end(step, logs)
        if model.stop_training:
            break
    return logs


# ---- evaluate / predict -----------------------------------------------------------------------


def _run_test(model, c: Compiled, src, cbs) -> dict:
    c.reset_metrics()
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    step_fn = model.test_step
    begin, end = cbs.on_test_batch_begin, cbs.on_test_batch_end
    cbs.on_test_begin()
    logs = None
    try:
        with no_grad():
            for step, batch in enumerate(src.epoch()):
                begin(step)
                logs = step_fn(batch)
                end(step, logs)
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    out = dict(logs) if logs is not None else {}
    cbs.on_test_end(out)
    return out


def evaluate(
    model,
    x=None,
    y=None,
    batch_size=32,
    verbose="auto",
    callbacks=None,
    steps=None,
    return_dict=False,
):
    """Loss and metrics over the data: a float (loss only), a list ``[loss, *metrics]``, or a
    dict with ``return_dict=True``."""
    c = _compiled(model, "evaluate")
    verbose = _verbose(verbose, "evaluate")
    src = adapters.source(
        adapters.cast_floats(x, _param_dtype(model)), y, batch_size, False, steps, "evaluate"
    )
    _check_labels(c, src, "evaluate")
    params = {
        "epochs": 1,
        "steps": src.steps,
        "verbose": verbose,
        "batch_size": src.batch_size,
        "samples": src.samples,
    }
    cbs, _ = _callbacks(callbacks, verbose, model, params, history=False)
    logs = _run_test(model, c, src, cbs)
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def predict(model, x, batch_size=32, verbose="auto", steps=None, callbacks=None):
    """The model's outputs on ``x`` (arrays, a Dataset or a DataLoader; labels in the batches
    are ignored), concatenated into one Tensor (a tuple for tuple outputs); eval mode, no
    gradients."""
    verbose = _verbose(verbose, "predict")
    src = adapters.source(
        adapters.cast_floats(x, _param_dtype(model)), None, batch_size, False, steps, "predict"
    )
    params = {
        "epochs": 1,
        "steps": src.steps,
        "verbose": verbose,
        "batch_size": src.batch_size,
        "samples": src.samples,
    }
    cbs, _ = _callbacks(callbacks, verbose, model, params, history=False)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    outs = []
    cbs.on_predict_begin()
    try:
        with no_grad():
            for step, batch in enumerate(src.epoch()):
                cbs.on_predict_batch_begin(step)
                out = _forward(model, unpack(batch)[0])
                outs.append(out)
                cbs.on_predict_batch_end(step, {"outputs": out})
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    cbs.on_predict_end()
    return _concat(outs)


def _concat(outs):
    if not outs:
        raise EmberValueError("predict: the data yielded no batches")
    if isinstance(outs[0], (tuple, list)):
        return tuple(_concat([o[i] for o in outs]) for i in range(len(outs[0])))
    return _wrap(np.concatenate([o._data for o in outs]))
