"""The op registry: one ``Op`` per primitive, holding everything every layer needs.

An op block declares its name, its NumPy forward, its VJP, its shape and dtype rules and a few
dispatch flags::

    @primitive("exp", shape=rules.same_shape, dtype=rules.float_unary, float_inputs=True,
               save="out")
    def exp(x):
        return np.exp(x)

    @exp.defvjp
    def _(g, out, x):
        return g * out

Calling an op works in two modes, chosen by its arguments:

* with at least one ``Tensor`` argument it goes through eager dispatch (promotion, checks,
  autograd recording) and returns a ``Tensor``;
* with only NumPy arrays and Python scalars it runs the NumPy forward directly.

VJPs are written once with ops and Python operators, so the autograd engine runs them on raw
arrays for a fast first-order backward, and on Tensors (recording a graph) for higher-order
gradients. ``ops`` never imports ``core``: the Tensor type and the dispatcher are installed by
``ember.core`` at import time.
"""

from __future__ import annotations

import threading

import numpy as np

OPS: dict[str, Op] = {}
_EMBER_DTYPES = ("float16", "float32", "float64", "int32", "int64", "bool")

# Set by ember.core.dispatch (dependency injection keeps ops below core in the layering).
_tensor_type: list = [None]
_dispatch: list = [None]
# ember.core.grad_mode's flag (the list itself): whether ops record autograd graphs now.
grad_enabled: list = [True]

_SAVE = {
    "none": (False, False),
    "in": (True, False),
    "out": (False, True),
    "both": (True, True),
    "meta": ("meta", False),
    # each input's gradient needs only the *other* inputs (mul): an input is kept only when
    # another input needs a gradient, so ``x * 2.0`` does not keep ``x`` alive
    "other": ("other", False),
    "meta+out": ("meta", True),
}


# The input edges of the node whose VJP the engine is running in this thread (``edges`` is
# None outside the engine), so that expensive VJPs (convolutions) can skip gradients that no
# input needs. Thread-local: backward passes may run in several threads at once.
current = threading.local()
current.edges = None


def needs_input_grad(i: int) -> bool:
    """Inside a VJP: whether input ``i`` needs its gradient (True when unknown)."""
    edges = getattr(current, "edges", None)
    return edges is None or (i < len(edges) and edges[i] is not None)


class Meta:
    """What a VJP sees of an input the op did not save: its shape, ndim and dtype."""

    __slots__ = ("shape", "dtype", "ndim")

    def __init__(self, shape, dtype):
        self.shape = shape
        self.dtype = dtype
        self.ndim = len(shape)

    def __repr__(self) -> str:
        return f"Meta({self.shape}, {self.dtype})"


class Op:
    """A primitive operation. See the module docstring for the fields."""

    __slots__ = (
        "name",
        "forward",
        "vjp",
        "shape",
        "dtype",
        "save_in",
        "save_out",
        "promote",
        "float_inputs",
        "dtypes",
        "view",
        "doc",
        "prep",
        "direct",
    )

    def __init__(self, name, forward, *, shape, dtype, save, promote, float_inputs, dtypes, view):
        self.name = name
        self.forward = forward
        self.vjp = None
        self.shape = shape
        self.dtype = dtype
        self.save_in, self.save_out = _SAVE[save]
        self.promote = promote
        self.float_inputs = float_inputs
        self.dtypes = None if dtypes is None else frozenset(np.dtype(d) for d in dtypes)
        self.view = view
        self.doc = forward.__doc__
        # Dispatch looks at input dtypes only for ops that may need a cast or a check.
        self.prep = promote or float_inputs or dtypes is not None
        # The dtypes a lone tensor argument may have to skip that look (one set lookup).
        self.direct = frozenset(
            d
            for d in map(np.dtype, _EMBER_DTYPES)
            if (d.kind == "f" or not float_inputs) and (self.dtypes is None or d in self.dtypes)
        )

    def defvjp(self, fn):
        """Register the VJP: ``fn(g, out, *inputs, **attrs) -> grad or tuple of grads``.

        ``out`` and ``inputs`` are None unless the op saves them (``save=``). Return one grad
        per input (None where an input has no gradient); broadcasting is undone by the engine.
        """
        self.vjp = fn
        return fn

    def __call__(self, *args, **attrs):
        tensor = _tensor_type[0]
        for a in args:
            if isinstance(a, tensor):
                return _dispatch[0](self, args, attrs)
        return self.forward(*args, **attrs)

    def __repr__(self) -> str:
        return f"<ember op {self.name}>"


def primitive(
    name: str,
    *,
    shape,
    dtype,
    save: str = "in",
    promote: bool = False,
    float_inputs: bool = False,
    dtypes=None,
    view: bool = False,
):
    """Declare a primitive op whose NumPy forward is the decorated function.

    shape(*shapes, **attrs) and dtype(*dtypes, **attrs) are pure rules over input metadata
    (Python scalars appear as shape ``()`` and their Python type); they raise ShapeError /
    DTypeError with a message that names the op. ``promote`` casts tensor inputs to their
    PyTorch result type; ``float_inputs`` also turns integer/bool inputs into the default float
    (``exp`` of an int tensor is float32, as in PyTorch); ``dtypes`` lists the input dtypes the
    op accepts; ``view`` marks outputs that may share memory with the first input.

    ``save`` says what the VJP receives: "in" (inputs), "out" (output), "both", "none", or
    "meta"/"meta+out" (inputs as ``Meta`` objects with shape/ndim/dtype only, so the engine
    does not keep their data alive).
    """

    def deco(forward):
        if name in OPS:
            raise ValueError(f"op {name!r} is registered twice")
        op = Op(
            name,
            forward,
            shape=shape,
            dtype=dtype,
            save=save,
            promote=promote,
            float_inputs=float_inputs,
            dtypes=dtypes,
            view=view,
        )
        OPS[name] = op
        return op

    return deco
