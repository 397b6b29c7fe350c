"""``plot_history``: a PNG of a ``History`` (matplotlib's headless Agg backend).

One panel per quantity, side by side: the loss, each metric, and the learning rate when it
changed; training values solid, validation (``val_*``) dashed.

>>> import os, tempfile
>>> from ember.train.callbacks import History
>>> h = History()
>>> h.history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.8]}
>>> h.epoch = [0, 1]
>>> path = plot_history(h, os.path.join(tempfile.mkdtemp(), "h.png"), dpi=50)
>>> os.path.getsize(path) > 0
True
"""

from __future__ import annotations

import io
import os

from ember.io.safetensors import atomic_write


def panels(history: dict) -> list[str]:
    """The quantities to draw: training names first seen order, then validation-only ones,
    plus ``'lr'`` when it varies."""
    names = []
    for key in history:
        base = key[4:] if key.startswith("val_") else key
        if base == "lr":
            continue
        if base not in names:
            names.append(base)
    lr = history.get("lr", [])
    if len(set(lr)) > 1:
        names.append("lr")
    return names


def plot_history(history, path, dpi: int = 100, panel_size=(4.0, 3.0)) -> str:
    """Write the PNG to ``path`` (temporary file, then rename); its size in pixels is
    ``(len(panels) * panel_size[0] * dpi, panel_size[1] * dpi)``."""
    # A bare Figure renders through Agg without pyplot: no display needed, and the user's
    # pyplot backend is left alone.
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    logs = history.history
    names = panels(logs)
    if not names:
        raise ValueError("History.plot: nothing to plot (no epoch has ended yet)")
    epochs = [e + 1 for e in history.epoch] or list(range(1, len(next(iter(logs.values()))) + 1))
    fig = Figure(figsize=(panel_size[0] * len(names), panel_size[1]), dpi=dpi)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        for key, style, label in ((name, "-", "train"), ("val_" + name, "--", "validation")):
            values = logs.get(key)
            if values and key != "val_lr":
                ax.plot(epochs[-len(values) :], values, style, marker="o", ms=3, label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        if name == "lr":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    atomic_write(os.fspath(path), [buf.getvalue()])
    return os.fspath(path)
