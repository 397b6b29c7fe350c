"""``Options``: a layer whose constructor arguments are forwarded to one functional op."""

from __future__ import annotations

from ember.nn.module import Module


class Options(Module):
    """A layer that forwards its constructor arguments to one functional op."""

    _fields: tuple = ()  # constructor argument names, in order
    _defaults: dict = {}

    def __init__(self, *args, **kwargs):
        super().__init__()
        names = self._fields
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__}: too many arguments")
        values = dict(self._defaults)
        values.update(zip(names, args))
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(unknown)}")
        values.update(kwargs)
        missing = [n for n in names if n not in values]
        if missing:
            raise TypeError(f"{type(self).__name__}: missing arguments {missing}")
        for n in names:
            setattr(self, n, values[n])

    def _options(self) -> dict:
        return {n: getattr(self, n) for n in self._fields}

    def extra_repr(self) -> str:
        # PyTorch shows inplace only when it is on
        items = [(k, v) for k, v in self._options().items() if not (k == "inplace" and not v)]
        return ", ".join(f"{k}={v!r}" for k, v in items)
