"""``Module``: the base class of layers and models.

Parameters, buffers and submodules register themselves by assignment; ``state_dict`` and
``load_state_dict`` move weights in and out by dotted name. Deliberately small: no hook zoo.

>>> import ember
>>> class Affine(ember.nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.w = ember.nn.Parameter(ember.ones(3))
...         self.register_buffer("calls", ember.zeros((), dtype=ember.int64))
...     def forward(self, x):
...         self.calls += 1
...         return x * self.w
>>> m = Affine()
>>> [name for name, _ in m.named_parameters()], list(m.state_dict())
(['w'], ['w', 'calls'])
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from ember import dtypes as D
from ember.core import trace_hooks
from ember.core.grad_mode import no_grad
from ember.core.tensor import Tensor
from ember.errors import EmberError, ShapeError
from ember.nn.parameter import Parameter

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class StateDictError(EmberError, KeyError):
    """A state dict that does not fit the module (missing, unexpected or mis-shaped keys)."""

    def __str__(self) -> str:
        return self.args[0]


class Module:
    """Base class: subclass it, assign layers/parameters in ``__init__``, write ``forward``."""

    training: bool

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        tracer = trace_hooks.tracer[0]
        if tracer is not None:
            _guard_training(tracer, self)
        return self.forward(*args, **kwargs)

    # ---- registration by assignment --------------------------------------------------------

    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called (call "
                "super().__init__() first)"
            )
        if isinstance(value, Parameter):
            self._forget(name)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            self._modules[name] = value
        elif name in self._parameters:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} (a Parameter "
                    "or None is expected)"
                )
            self._parameters[name] = None
        elif name in self._buffers and (value is None or isinstance(value, Tensor)):
            self._buffers[name] = value
        else:
            self._forget(name)
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        for table in (self._parameters, self._modules, self._buffers):
            table.pop(name, None)
        self._non_persistent.discard(name)
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str):
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if table in d and name in d[table]:
                return d[table][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor that is state but not trainable (running statistics ...)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    # ---- traversal --------------------------------------------------------------------------

    def named_modules(self, memo=None, prefix: str = ""):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def _named(self, table: str, prefix: str, recurse: bool):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mp, m in mods:
            for n, v in getattr(m, table).items():
                if v is None or id(v) in seen:
                    continue
                seen.add(id(v))
                yield (f"{mp}.{n}" if mp else n), v

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        return self._named("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        return self._named("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True):
        return (b for _, b in self.named_buffers(recurse=recurse))

    def get_submodule(self, target: str) -> Module:
        m = self
        for part in filter(None, target.split(".")):
            if part not in m._modules:
                raise AttributeError(f"get_submodule: {type(m).__name__} has no submodule {part!r}")
            m = m._modules[part]
        return m

    # ---- state --------------------------------------------------------------------------------

    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False):
        """Parameters and persistent buffers by dotted name (detached unless ``keep_vars``)."""
        out = OrderedDict() if destination is None else destination
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                out[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(out, prefix + name + ".", keep_vars)
        return out

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy tensors into parameters and buffers; report missing/unexpected/mis-shaped keys."""
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        shapes = [
            f"{k}: checkpoint {tuple(np.shape(_array(v)))} vs model {tuple(own[k].shape)}"
            for k, v in state_dict.items()
            if k in own and tuple(np.shape(_array(v))) != tuple(own[k].shape)
        ]
        problems = []
        if shapes:
            problems.append("size mismatch for " + "; ".join(shapes))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise StateDictError(
                f"load_state_dict: error(s) loading state dict for {type(self).__name__}: "
                + " | ".join(problems)
            )
        with no_grad():
            for k, v in state_dict.items():
                if k in own:
                    target = own[k]
                    target._data[...] = _array(v).astype(target._data.dtype, copy=False)
                    target._vc[0] += 1
        return IncompatibleKeys(missing, unexpected)

    # ---- modes and conversions ------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        tracer = trace_hooks.tracer[0]
        for p in self.parameters():
            if tracer is not None:  # the .grad state becomes graph inputs and outputs
                tracer.read_grad(p)
                tracer.touch(p)
            if p._grad is None:
                continue
            if set_to_none:
                p._grad = None
            elif tracer is not None:
                p._grad.zero_()
            else:
                p._grad._data[...] = 0

    def apply(self, fn) -> Module:
        """Call ``fn`` on every submodule (children first) and on self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, *args, dtype=None, **kwargs) -> Module:
        """Convert floating-point parameters and buffers to ``dtype`` in place."""
        for a in args:
            if not (isinstance(a, str) and a.startswith("cpu")):
                dtype = a
        if dtype is None:
            return self
        target = D.as_dtype(dtype)
        if not target.is_floating_point:
            raise TypeError(f"Module.to: only floating dtypes are allowed, got {target}")
        for t in list(self.parameters()) + list(self.buffers()):
            if t._data.dtype.kind == "f":
                t._data = t._data.astype(target.np)
                if t.grad is not None:
                    t._grad = None
        return self

    def float(self) -> Module:
        return self.to(D.float32)

    def double(self) -> Module:
        return self.to(D.float64)

    def half(self) -> Module:
        return self.to(D.float16)

    def cpu(self) -> Module:
        return self

    # ---- Keras-style training: thin delegates to ember.train.model_api (config: self.compiled) --

    def compile(
        self, optimizer="rmsprop", loss=None, metrics=None, run_eagerly=None, jit=None
    ) -> None:
        """Configure training: optimizer, loss and metrics by name or object; ``jit=True``
        compiles fit's train steps (``run_eagerly=True`` forces eager ones)."""
        from ember.train import model_api

        model_api.compile(self, optimizer, loss, metrics, run_eagerly, jit)

    def fit(self, x=None, y=None, **kwargs):
        """Train on tensors/arrays, a DataLoader or a Dataset; returns a ``History``."""
        from ember.train import model_api

        return model_api.fit(self, x, y, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        """Loss and metrics over the data (eval mode, no gradients)."""
        from ember.train import model_api

        return model_api.evaluate(self, x, y, **kwargs)

    def predict(self, x, **kwargs):
        """The outputs on ``x``, batched and concatenated (eval mode, no gradients)."""
        from ember.train import model_api

        return model_api.predict(self, x, **kwargs)

    def train_step(self, batch):
        """One training step of ``fit``; override it for custom training logic."""
        from ember.train import model_api

        return model_api.train_step(self, batch)

    def test_step(self, batch):
        """One evaluation step of ``evaluate``/validation; override it as ``train_step``."""
        from ember.train import model_api

        return model_api.test_step(self, batch)

    def summary(self, input_shape=None, **kwargs) -> str:
        """A table of layers, output shapes and parameter counts (printed and returned)."""
        from ember.train import summary

        return summary.summary(self, input_shape, **kwargs)

    # ---- printing -------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines.extend(extra.split("\n"))
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        if not lines:
            return f"{type(self).__name__}()"
        if not self._modules and len(lines) == 1:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(
            set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        )

    def __setstate__(self, state):
        self.__dict__.update(state)


def _array(v) -> np.ndarray:
    if isinstance(v, Tensor):
        return v._data
    arr = np.asarray(v)
    if arr.dtype == object:
        raise ShapeError(f"load_state_dict: value of type {type(v).__name__} is not a tensor")
    return arr


def _guard_training(tracer, module) -> None:
    """A compiled call that ran ``module`` depends on its train/eval mode (dropout, batch
    norm): a guard makes ``model.eval()`` select (or trace) another graph."""
    seen = tracer.__dict__.setdefault("_modules_seen", set())
    if id(module) in seen:
        return
    seen.add(id(module))
    tracer.guards.append((_training_of(module), module.training))


def _training_of(module):
    return lambda: module.training
