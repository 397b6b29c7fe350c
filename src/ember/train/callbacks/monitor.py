"""Which way a monitored quantity should go (``mode='auto'``), shared by the callbacks that
watch one (EarlyStopping, ModelCheckpoint, ReduceLROnPlateau).

>>> from ember.train.callbacks.monitor import maximize
>>> maximize("val_loss", "auto", None, "EarlyStopping"), maximize("val_accuracy", "auto", None, "X")
(False, True)
"""

from __future__ import annotations

from ember.errors import EmberValueError

# Built-in metric names that improve upward / downward (compiled Metric objects say it
# themselves through their ``direction``).
_UP = {"accuracy", "acc", "auc", "precision", "recall", "f1", "top_k_accuracy"}
_DOWN = {"loss", "mae", "mse"}


def check_mode(mode: str, who: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise EmberValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    return mode


def maximize(monitor: str, mode: str, model, who: str) -> bool:
    """True when larger values of ``monitor`` are better."""
    if check_mode(mode, who) != "auto":
        return mode == "max"
    name = monitor[4:] if monitor.startswith("val_") else monitor
    compiled = getattr(model, "__dict__", {}).get("compiled") if model is not None else None
    metric = compiled._by_name.get(name) if compiled is not None else None
    if metric is not None and metric.direction in ("up", "down"):
        return metric.direction == "up"
    if name in _UP:
        return True
    if name in _DOWN or name.endswith("_loss"):
        return False
    raise EmberValueError(
        f"{who}: cannot tell whether {monitor!r} should be minimized or maximized; pass "
        "mode='min' or mode='max'"
    )
