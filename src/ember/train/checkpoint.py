"""Full training checkpoints for resuming: model, optimizer, scheduler, epoch and the state
of ember's default random generator (shuffling, dropout), in one safetensors file.

Loading a checkpoint into freshly built objects and calling ``fit(..., initial_epoch=epoch)``
continues the run exactly where it stopped.

>>> import ember, os, tempfile
>>> from ember.train import save_checkpoint, load_checkpoint
>>> model = ember.nn.Linear(2, 1)
>>> opt = ember.optim.SGD(model.parameters(), lr=0.1)
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
>>> save_checkpoint(path, model, opt, epoch=4)
>>> fresh = ember.nn.Linear(2, 1)
>>> load_checkpoint(path, fresh, ember.optim.SGD(fresh.parameters(), lr=0.5))
4
>>> bool((fresh.weight == model.weight).all())
True
"""

from __future__ import annotations

from ember.core.random import get_rng_state, set_rng_state
from ember.io import CheckpointError, load, save

_FORMAT = "ember.train.checkpoint/1"


def save_checkpoint(path, model, optimizer=None, scheduler=None, epoch: int = 0, **extra) -> None:
    """Write model, optimizer and scheduler state, ``epoch`` (the number of finished epochs,
    i.e. the ``initial_epoch`` to resume with), the RNG state and any ``extra`` values
    (numbers, strings, tensors ...) atomically to ``path``."""
    state = {
        "format": _FORMAT,
        "epoch": int(epoch),
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "rng": get_rng_state(),
        "extra": extra,
    }
    save(state, path)


def load_checkpoint(path, model, optimizer=None, scheduler=None, restore_rng: bool = True) -> int:
    """Load what ``save_checkpoint`` wrote into the given objects (and the default generator
    when ``restore_rng``); returns the saved ``epoch``."""
    state = load(path)
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise CheckpointError(
            f"load_checkpoint: {path} is not a training checkpoint written by save_checkpoint "
            "(load plain weights with model.load_state_dict(ember.load(path)))"
        )
    model.load_state_dict(state["model"])
    for what, obj in (("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is None:
            continue
        if state[what] is None:
            raise CheckpointError(f"load_checkpoint: {path} holds no {what} state")
        obj.load_state_dict(state[what])
    if restore_rng:
        set_rng_state(state["rng"])
    return state["epoch"]
