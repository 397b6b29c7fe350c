"""The ember demo (``ember demo``, ``make demo``): LeNet-5 trained the Keras way, end to end.

Trains LeNet-5 on Fashion-MNIST (or, when Debian's ``dataset-fashion-mnist`` is not installed,
on scikit-learn's digits upsampled to 28x28), with progress bars; prints the test accuracy;
saves the training-history plot, a CSV log and a safetensors checkpoint; then reloads the
checkpoint into a freshly built model and shows that it scores the same.

>>> import ember.demo
>>> model = ember.demo.lenet5()
>>> model(ember.zeros(2, 1, 28, 28)).shape
(2, 10)
"""

from __future__ import annotations

import os
import time

import numpy as np

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember import models
from ember.datasets import DatasetError
from ember.train.callbacks import CSVLogger, ModelCheckpoint, TensorBoard

QUICK_TRAIN, QUICK_TEST = 4000, 1000
FASHION_INSTALL = "sudo apt-get install dataset-fashion-mnist"


def lenet5() -> nn.Sequential:
    """LeCun's LeNet-5 (28x28 padded to 32x32): the shared ``ember.models`` definition."""
    return models.lenet5(padding=2)


def load_data(dataset: str = "auto", say=print):
    """``(name, classes, (x_train, y_train), (x_test, y_test))`` with 1x28x28 float32 images.

    ``dataset`` is ``'fashion-mnist'``, ``'digits'`` or ``'auto'`` (Fashion-MNIST when it is
    installed, else digits).
    """
    if dataset not in ("auto", "fashion-mnist", "digits"):
        raise ValueError(
            f"demo: dataset must be 'auto', 'fashion-mnist' or 'digits', got {dataset!r}"
        )
    if dataset != "digits":
        try:
            train, test = (
                ember.datasets.fashion_mnist("train"),
                ember.datasets.fashion_mnist("test"),
            )
            return "Fashion-MNIST", train.classes, train.tensors, test.tensors
        except DatasetError:
            if dataset == "fashion-mnist":
                raise
            say(
                "note: Fashion-MNIST is not installed, so the demo uses scikit-learn's 8x8 "
                f"digits upsampled to 28x28. For the real thing: {FASHION_INSTALL}"
            )
    train, test = ember.datasets.digits("train"), ember.datasets.digits("test")
    # Bilinear upsampling keeps LeNet-5's 28x28 geometry, so the model is the same either way.
    with ember.no_grad():
        up = [
            F.interpolate(x, size=(28, 28), mode="bilinear")
            for x, _ in (train.tensors, test.tensors)
        ]
    return "digits (upsampled)", train.classes, (up[0], train.tensors[1]), (up[1], test.tensors[1])


def _subset(pair, n: int, seed: int):
    x, y = pair
    if n >= len(y):
        return pair
    idx = np.random.default_rng(seed).permutation(len(y))[:n]
    idx = ember.from_numpy(np.sort(idx))
    return x[idx], y[idx]


def _compiled_lenet5(lr: float = 2e-3) -> nn.Sequential:
    model = lenet5()
    model.compile(ember.optim.Adam(model.parameters(), lr=lr), "cross_entropy", ["accuracy"])
    return model


def run(
    epochs: int | None = None,
    quick: bool = False,
    out: str = "ember-demo",
    dataset: str = "auto",
    batch_size: int = 64,
    seed: int = 0,
    verbose: int = 1,
    tensorboard: bool = False,
    say=print,
) -> dict:
    """Run the demo; returns the test accuracies (trained and reloaded), the output paths and
    the timings. ``quick``: a random subset (4,000 training, 1,000 test images) and 1 epoch
    (3 on digits). ``epochs`` defaults to 2 (10 on digits).
    ``tensorboard``: also write TensorBoard logs (needs tensorboardX) to ``<out>/logs``."""
    start = time.perf_counter()
    os.makedirs(out, exist_ok=True)  # fail on a bad folder before any work
    name, classes, train, test = load_data(dataset, say)
    if not epochs:  # digits is 40x smaller than Fashion-MNIST: more, cheaper epochs
        epochs = (1 if quick else 2) if name == "Fashion-MNIST" else (3 if quick else 10)
    if quick:
        train, test = _subset(train, QUICK_TRAIN, seed), _subset(test, QUICK_TEST, seed + 1)
    say(f"ember {ember.__version__} demo: LeNet-5 on {name}, {len(train[1]):,} training and "
        f"{len(test[1]):,} test images, {epochs} epoch(s)")  # fmt: skip
    paths = {
        "checkpoint": os.path.join(out, "lenet5.safetensors"),
        "plot": os.path.join(out, "history.png"),
        "csv": os.path.join(out, "history.csv"),
    }
    if tensorboard:
        paths["tensorboard"] = os.path.join(out, "logs")

    ember.manual_seed(seed)
    model, history, train_time = _train(train, epochs, batch_size, paths, verbose, say)
    _, accuracy = model.evaluate(*test, batch_size=500, verbose=verbose)
    say(f"test accuracy: {accuracy:.4f}  (training took {train_time:.1f} s)")
    _show_predictions(model, test, classes, say)
    paths["plot"] = _plot(history, paths["plot"], say)
    reloaded = _reload(paths["checkpoint"], test, accuracy, say)

    say("outputs: " + ", ".join(p for p in paths.values() if p))
    if tensorboard:
        say(f"view the TensorBoard logs with: tensorboard --logdir {paths['tensorboard']}")
    total = time.perf_counter() - start
    say(f"done in {total:.1f} s")
    return {"dataset": name, "test_accuracy": accuracy, "reloaded_accuracy": reloaded,
            "history": history.history, "paths": paths, "train_seconds": train_time,
            "total_seconds": total}  # fmt: skip


def _train(train, epochs, batch_size, paths, verbose, say):
    model = _compiled_lenet5()
    if verbose:
        model.summary(input_shape=tuple(train[0].shape[1:]), print_fn=say)
    callbacks = [
        CSVLogger(paths["csv"]),
        ModelCheckpoint(paths["checkpoint"], save_weights_only=True),  # the last epoch's weights
    ]
    if "tensorboard" in paths:
        callbacks.append(TensorBoard(paths["tensorboard"], histogram_freq=1))
    t0 = time.perf_counter()
    history = model.fit(
        *train, batch_size=batch_size, epochs=epochs, validation_split=0.1,
        callbacks=callbacks, verbose=verbose,
    )  # fmt: skip
    return model, history, time.perf_counter() - t0


def _reload(checkpoint: str, test, accuracy: float, say) -> float:
    """Load the checkpoint into a freshly built LeNet-5; it must score exactly the same."""
    fresh = _compiled_lenet5()
    fresh.load_state_dict(ember.load(checkpoint))
    _, reloaded = fresh.evaluate(*test, batch_size=500, verbose=0)
    same = "the same" if reloaded == accuracy else "DIFFERENT"
    say(f"reloaded {checkpoint} into a fresh LeNet-5: test accuracy {reloaded:.4f} ({same})")
    if reloaded != accuracy:
        raise ember.EmberError(
            f"demo: the reloaded checkpoint scores {reloaded}, the trained model {accuracy}"
        )
    return reloaded


def _show_predictions(model, test, classes, say, n: int = 6) -> None:
    x, y = test
    pred = model.predict(x[:n], verbose=0).argmax(1).tolist()
    pairs = [
        f"{classes[p]}{'' if p == t else ' (true: ' + classes[t] + ')'}"
        for p, t in zip(pred, y[:n].tolist())
    ]
    say(f"first {n} test images: " + "; ".join(pairs))


def _plot(history, path: str, say) -> str | None:
    try:
        return history.plot(path)
    except ImportError as exc:
        say(f"note: no history plot ({exc}); pip install matplotlib")
        return None
