"""What ``model.compile(...)`` stores: the optimizer, the loss, the metrics and the loss tracker,
resolved from names once, kept in the one attribute ``model.compiled``.

>>> import ember
>>> model = ember.nn.Linear(4, 3)
>>> model.compile("adam", "cross_entropy", metrics=["accuracy", "f1"])
>>> c = model.compiled
>>> type(c.optimizer).__name__, c.optimizer.param_groups[0]["lr"], c.loss.name, c.metric_names
('Adam', 0.001, 'cross_entropy', ['loss', 'accuracy', 'f1'])
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ember import optim
from ember.core.tensor import Tensor
from ember.errors import EmberValueError
from ember.train import classification as C
from ember.train import losses
from ember.train import metrics as M

# Keras's default learning rates for optimizers given by name.
OPTIMIZERS = {
    "sgd": (optim.SGD, 0.01),
    "adam": (optim.Adam, 0.001),
    "adamw": (optim.AdamW, 0.001),
    "rmsprop": (optim.RMSprop, 0.001),
}
# Whether fit compiles train steps when compile() is given neither jit nor run_eagerly.
JIT_DEFAULT = False
_LOGIT_LOSSES = ("cross_entropy", "sparse_categorical_crossentropy", "categorical_crossentropy")


class Compiled:
    """The training configuration of a compiled model (``model.compiled``).

    ``optimizer`` is built from a name when ``compile`` runs, or at the start of ``fit`` for a
    model with lazy layers (their parameters exist only after a first forward).
    """

    def __init__(self, model, optimizer, loss, metrics, run_eagerly, jit=None):
        self.loss = None if loss is None else losses.get(loss)
        self.metrics = [_metric(m, self.loss) for m in (metrics or [])]
        self.loss_tracker = M.Mean("loss")
        names = ["loss"] + [m.name for m in self.metrics]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise EmberValueError(f"compile: metric name(s) {dupes} appear more than once")
        self.metric_names = names
        self._by_name = dict(zip(names, [self.loss_tracker] + self.metrics))
        # run_eagerly=True forces eager steps and run_eagerly=False compiled ones (as in
        # Keras); with neither, jit decides (default JIT_DEFAULT)
        self.jit = _jit_choice(run_eagerly, jit)
        self.run_eagerly = not self.jit
        self.jit_step = None  # the JitStep, built by the first compiled train step
        self.input_spec = None  # (shape without batch dim, dtype), recorded by fit
        self._optimizer_spec = optimizer
        self.optimizer = _optimizer(model, optimizer)

    def build_optimizer(self, model) -> None:
        if self.optimizer is None:
            self.optimizer = _optimizer(model, self._optimizer_spec, lazy_ok=False)

    def reset_metrics(self) -> None:
        for m in self._by_name.values():
            m.reset_state()

    def update_metrics(self, loss, y_pred, y_true) -> BatchLogs:
        """Track ``loss`` (weighted by the batch size) and update every metric; returns the
        running logs. Call it from a custom ``train_step``."""
        yp = y_pred._data if isinstance(y_pred, Tensor) else np.asarray(y_pred)
        yt = y_true._data if isinstance(y_true, Tensor) else np.asarray(y_true)
        lv = loss._data if isinstance(loss, Tensor) else loss
        self.loss_tracker.update_state(lv, yp.shape[0] if yp.ndim else 1)
        for m in self.metrics:
            m.update_state(yp, yt)
        return BatchLogs(self._by_name)

    def results(self) -> dict:
        return {name: m.result() for name, m in self._by_name.items()}

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"]) if self.optimizer else float("nan")


class BatchLogs(Mapping):
    """Running loss and metrics, each computed on first access and then kept (so a batch whose
    logs nobody reads costs nothing, even for metrics like AUC that sort every score)."""

    __slots__ = ("_metrics", "_cache")

    def __init__(self, by_name: dict):
        self._metrics = by_name
        self._cache = {}

    def __getitem__(self, key):
        cache = self._cache
        if key not in cache:
            cache[key] = self._metrics[key].result()
        return cache[key]

    def __iter__(self):
        return iter(self._metrics)

    def __len__(self) -> int:
        return len(self._metrics)

    def __repr__(self) -> str:
        return repr(dict(self))


def _jit_choice(run_eagerly, jit) -> bool:
    if run_eagerly:
        return False
    if jit is None:
        return JIT_DEFAULT if run_eagerly is None else True
    return bool(jit)


def _has_lazy(model) -> bool:
    return any(getattr(m, "_lazy", None) is not None for m in model.modules())


def _optimizer(model, spec, lazy_ok: bool = True):
    if isinstance(spec, optim.Optimizer):
        return spec
    if not isinstance(spec, str):
        raise EmberValueError(
            f"compile: optimizer must be a name ({', '.join(OPTIMIZERS)}) or an "
            f"ember.optim.Optimizer, got {type(spec).__name__}"
        )
    key = spec.lower()
    if key not in OPTIMIZERS:
        raise EmberValueError(
            f"compile: unknown optimizer {spec!r}; known optimizers: {', '.join(OPTIMIZERS)}"
        )
    if lazy_ok and _has_lazy(model):
        return None
    cls, lr = OPTIMIZERS[key]
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise EmberValueError(f"compile: {type(model).__name__} has no trainable parameters")
    return cls(params, lr=lr)


def _metric(spec, loss) -> M.Metric:
    if isinstance(spec, M.Metric):
        return spec
    if isinstance(spec, str):
        return _named_metric(spec, loss)
    if callable(spec):
        return M.MeanMetricWrapper(spec)
    raise EmberValueError(
        f"compile: a metric must be a name, a Metric or a callable, got {type(spec).__name__}"
    )


def _named_metric(name: str, loss) -> M.Metric:
    lname = loss.name if loss is not None else ""
    logits = lname == "bce_with_logits"
    binary = True if lname in ("bce", "bce_with_logits") else None
    makers = {
        "accuracy": lambda: M.Accuracy(name, from_logits=logits, binary=binary),
        "acc": lambda: M.Accuracy(name, from_logits=logits, binary=binary),
        "top_k_accuracy": lambda: M.TopKAccuracy(5),
        "precision": lambda: C.Precision(from_logits=logits),
        "recall": lambda: C.Recall(from_logits=logits),
        "f1": lambda: C.F1Score(from_logits=logits),
        "auc": lambda: C.AUC(from_logits=logits or lname in _LOGIT_LOSSES),
        "mae": M.MeanAbsoluteError,
        "mse": M.MeanSquaredError,
    }
    if name not in makers:
        raise EmberValueError(
            f"compile: unknown metric {name!r}; known metrics: {', '.join(makers)}"
        )
    return makers[name]()
