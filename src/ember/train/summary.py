"""``model.summary()``: a Keras-style table of the model's layers, output shapes and parameter
counts.

Output shapes come from forwards on zero batches (eval mode, no gradients, RNG state kept),
observed by temporarily replacing each child's ``forward`` with a recording wrapper, so
``Module`` needs no hook machinery. Two batch sizes are run; the dims that follow the batch
size print as ``None``. Buffers (BatchNorm running statistics ...) are state, not parameters,
and are not counted; frozen parameters (``requires_grad=False``) are the non-trainable ones.

>>> import ember
>>> model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))
>>> print(model.summary(input_shape=(4,), print_fn=None))
Model: "Sequential"
________________________________________
 Layer (type)    Output Shape    Param #
========================================
 0 (Linear)      (None, 8)       40
 1 (ReLU)        (None, 8)       0
 2 (Linear)      (None, 2)       18
========================================
Total params: 58 (232 B)
Trainable params: 58 (232 B)
Non-trainable params: 0 (0 B)
________________________________________
"""

from __future__ import annotations

import numpy as np

from ember import dtypes as D
from ember.core.grad_mode import no_grad
from ember.core.random import get_rng_state, set_rng_state
from ember.core.tensor import Tensor, _wrap


def _shape(out):
    if isinstance(out, Tensor):
        return tuple(out.shape)
    if isinstance(out, (tuple, list)):
        return tuple(_shape(o) for o in out)
    return type(out).__name__


def _merge(a, b):
    """Shapes from two batch sizes: dims that differ are batch dims (None)."""
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        if all(isinstance(d, int) for d in a + b):
            return tuple(None if da != db else da for da, db in zip(a, b))
        return tuple(_merge(x, y) for x, y in zip(a, b))
    return a


def _fmt(shape) -> str:
    if isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape):
        inner = ", ".join("None" if d is None else str(d) for d in shape)
        return f"({inner},)" if len(shape) == 1 else f"({inner})"
    if isinstance(shape, tuple):
        return "[" + ", ".join(_fmt(s) for s in shape) + "]"
    return str(shape)


def _record(model, rows, spec, batch: int) -> dict:
    shapes = {}
    saved = []
    for key, m in rows:
        had = m.__dict__.get("forward")
        orig = m.forward

        def hooked(*args, _orig=orig, _key=key, **kwargs):
            out = _orig(*args, **kwargs)
            shapes.setdefault(_key, _shape(out))
            return out

        object.__setattr__(m, "forward", hooked)
        saved.append((m, had))
    try:
        shape, dtype = spec
        model(_wrap(np.zeros((batch,) + tuple(shape), dtype=dtype)))
    finally:
        for m, had in reversed(saved):
            if had is None:
                m.__dict__.pop("forward", None)
            else:
                object.__setattr__(m, "forward", had)
    return shapes


def _output_shapes(model, rows, spec) -> dict:
    modes = [(m, m.training) for m in model.modules()]
    rng = get_rng_state()
    try:
        model.eval()
        with no_grad():
            one, two = _record(model, rows, spec, 1), _record(model, rows, spec, 2)
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
        set_rng_state(rng)
    return {k: _merge(one[k], two.get(k)) for k in one}


def _count(params) -> tuple[int, int]:
    n = sum(p._data.size for p in params)
    return n, sum(p._data.nbytes for p in params)


def _size(nbytes: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes} B" if unit == "B" else f"{nbytes:.2f} {unit}"
        nbytes /= 1024


def summary(model, input_shape=None, dtype=None, print_fn=print) -> str:
    """The table as a string, also passed to ``print_fn`` (``None``: not printed).

    ``input_shape`` is one sample's shape (no batch dim), ``dtype`` its dtype (default: the
    default float dtype); without them, the shape of the first batch ``fit`` saw is used,
    and without that the output shapes print as ``?``.
    """
    rows = list(model.named_children()) or [("", model)]
    spec = None
    if input_shape is not None:
        np_dtype = D.as_dtype(dtype).np if dtype is not None else D.get_default_dtype().np
        spec = (tuple(input_shape), np_dtype)
    elif model.__dict__.get("compiled") is not None:
        spec = model.compiled.input_spec
    shapes = _output_shapes(model, rows, spec) if spec is not None else {}
    table = []
    for key, m in rows:
        label = f"{key} ({type(m).__name__})" if key else type(m).__name__
        out = _fmt(shapes[key]) if key in shapes else "?"
        table.append((label, out, str(_count(list(m.parameters()))[0])))
    text = _render(type(model).__name__, table, list(model.parameters()))
    if print_fn is not None:
        print_fn(text)
    return text


def _render(name: str, table, params) -> str:
    head = ("Layer (type)", "Output Shape", "Param #")
    w0 = max(len(r[0]) for r in table + [head]) + 4
    w1 = max(len(r[1]) for r in table + [head]) + 4
    w2 = max(len(r[2]) for r in table + [head])
    width = 1 + w0 + w1 + w2
    lines = [f'Model: "{name}"', "_" * width]
    lines.append(f" {head[0]:<{w0}}{head[1]:<{w1}}{head[2]}".rstrip())
    lines.append("=" * width)
    lines += [f" {a:<{w0}}{b:<{w1}}{c}".rstrip() for a, b, c in table]
    lines.append("=" * width)
    trainable = [p for p in params if p.requires_grad]
    frozen = [p for p in params if not p.requires_grad]
    for what, ps in (("Total", params), ("Trainable", trainable), ("Non-trainable", frozen)):
        n, nbytes = _count(ps)
        lines.append(f"{what} params: {n:,} ({_size(nbytes)})")
    lines.append("_" * width)
    return "\n".join(lines)
