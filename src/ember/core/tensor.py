"""``ember.Tensor``: a NumPy array plus the autograd bookkeeping.

Tensor ops, operators and most methods are attached by the ``ember.api`` modules (one per op
family) through ``register_methods``, so this file holds only what every tensor is: its data,
its place in the autograd graph, its version counter, and conversions.

>>> import ember
>>> x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad
tensor([2., 4., 6.])
"""

from __future__ import annotations

import numpy as np

from ember import dtypes as D
from ember.core.trace_hooks import tracer as _tracer
from ember.core.trace_hooks import value_read as _value_read
from ember.errors import AutogradError, DTypeError, EmberIndexError, ShapeError

_new = object.__new__


class Tensor:
    """A multi-dimensional array that records the ops applied to it for autograd.

    Construct tensors with ``ember.tensor(data)`` and the other creation functions;
    ``Tensor(data)`` also works and makes a float32 tensor from Python numbers.
    """

    __slots__ = (
        "_data",
        "_rg",
        "_grad",
        "_node",
        "_vc",
        "_base",
        "_hooks",
        "_out_idx",
        # Set only on tensors that have them (left unset elsewhere, so _wrap stays cheap):
        "_views",  # weakrefs to views made from this tensor while recording (for rebasing)
        "_chain",  # on such a view: the (op, attrs) steps that remake it from its base
        "__weakref__",
    )

    # NumPy defers binary operators to us instead of converting the Tensor to an array.
    __array_ufunc__ = None

    def __init__(self, *args, dtype=None, requires_grad: bool = False):
        _construct(self, args, dtype)
        if requires_grad:
            self.requires_grad = True

    # ---- metadata -----------------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return self._data.shape

    def size(self, dim: int | None = None):
        """The shape, or the length of one dimension.

        >>> import ember
        >>> ember.zeros(2, 3).size(), ember.zeros(2, 3).size(-1)
        ((2, 3), 3)
        """
        if dim is None:
            return self._data.shape
        return self._data.shape[_dim(self, dim, "size")]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    @property
    def dtype(self) -> D.DType:
        return D._BY_NP[self._data.dtype]

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    @property
    def _version(self) -> int:
        return self._vc[0]

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def element_size(self) -> int:
        return self._data.itemsize

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    def stride(self, dim: int | None = None):
        """Strides in elements, as in PyTorch (an empty tensor reports contiguous strides).

        >>> import ember
        >>> ember.zeros(2, 3).stride(), ember.zeros(2, 3).t().stride()
        ((3, 1), (1, 3))
        """
        a = self._data
        if a.size == 0:
            s, step = [], 1
            for n in reversed(a.shape):
                s.append(step)
                step *= max(n, 1)
            s = tuple(reversed(s))
        else:
            s = tuple(b // a.itemsize for b in a.strides)
        return s if dim is None else s[_dim(self, dim, "stride")]

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]

    # ---- autograd state -----------------------------------------------------------------

    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        flag = bool(flag)
        if self._node is not None and not flag:
            raise AutogradError(
                "requires_grad: you can only change requires_grad flags of leaf tensors; "
                "use detach() to get a tensor that does not require grad"
            )
        if flag and self._data.dtype.kind != "f":
            raise DTypeError(
                f"requires_grad: only floating-point tensors can require gradients, got "
                f"{self.dtype.name}"
            )
        self._rg = flag

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self):
        if _tracer[0] is not None:
            _tracer[0].read_grad(self)
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise DTypeError(f"grad: expected a Tensor or None, got {type(value).__name__}")
            if value.shape != self.shape:
                raise AutogradError(
                    f"grad: assigned grad has shape {tuple(value.shape)} but the tensor has "
                    f"shape {tuple(self.shape)}"
                )
            if value._data.dtype != self._data.dtype:
                raise DTypeError(
                    f"grad: assigned grad has dtype {value.dtype.name} but the tensor has "
                    f"dtype {self.dtype.name}"
                )
        if _tracer[0] is not None:  # as optimizer.zero_grad does: the .grad this call found
            _tracer[0].read_grad(self)  # is an input, and the guard on it sees that state
            _tracer[0].touch(self)
        self._grad = value

    @property
    def data(self) -> Tensor:
        """A tensor sharing storage with this one, outside the autograd graph."""
        return self.detach()

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data

    def detach(self) -> Tensor:
        """A new tensor sharing this one's storage (and version counter), cut from the graph.

        >>> import ember
        >>> x = ember.ones(2, requires_grad=True)
        >>> (x * 2).detach().requires_grad
        False
        """
        t = _wrap(self._data)
        t._vc = self._vc
        t._base = self._base if self._base is not None else self
        return t

    def detach_(self) -> Tensor:
        self._node = None
        self._rg = False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` of a non-leaf tensor after backward.

        >>> import ember
        >>> x = ember.ones(2, requires_grad=True)
        >>> y = x * 3
        >>> y.retain_grad()
        >>> (y * y).sum().backward()
        >>> y.grad
        tensor([6., 6.])
        """
        from ember.core.autograd import retain_grad

        retain_grad(self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one.
        ``handle.remove()`` on the returned handle unregisters it.

        >>> import ember
        >>> x = ember.ones(2, requires_grad=True)
        >>> handle = x.register_hook(lambda g: g * 10)
        >>> (x * 2).sum().backward()
        >>> x.grad
        tensor([20., 20.])
        """
        from ember.core.autograd import register_hook

        return register_hook(self, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad
        (only into ``inputs`` if given). Non-scalar tensors need ``gradient``.

        >>> import ember
        >>> x = ember.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).backward(ember.tensor([1.0, 0.5]))
        >>> x.grad
        tensor([2., 2.])
        """
        from ember.core.autograd import backward

        backward([self], [gradient], retain_graph, create_graph, inputs)

    # ---- conversions ----------------------------------------------------------------------

    def numpy(self) -> np.ndarray:
        """The underlying array (shares memory).

        >>> import ember
        >>> ember.tensor([1, 2]).numpy()
        array([1, 2])
        """
        if self._rg:
            raise AutogradError(
                "numpy: can't call numpy() on a tensor that requires grad; use "
                "tensor.detach().numpy() instead"
            )
        if _value_read[0] is not None:
            _value_read[0]("numpy")
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self._rg:
            raise AutogradError(
                "__array__: can't convert a tensor that requires grad to a NumPy array; use "
                "tensor.detach().numpy() instead"
            )
        a = self._data
        if dtype is not None:
            a = a.astype(dtype, copy=False)
        return a.copy() if copy else a

    def item(self):
        """The value of a one-element tensor as a Python number.

        >>> import ember
        >>> ember.tensor([[2.5]]).item()
        2.5
        """
        return _scalar(self, "item")

    def tolist(self):
        if _value_read[0] is not None:
            _value_read[0]("tolist")
        return self._data.tolist()

    def __float__(self) -> float:
        return float(_scalar(self, "float"))

    def __int__(self) -> int:
        return int(_scalar(self, "int"))

    def __index__(self) -> int:
        if _value_read[0] is not None:
            _value_read[0]("index")
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise DTypeError(
                f"index: only integer tensors of a single element can be converted to an index "
                f"(got {self.dtype.name} of shape {tuple(self.shape)})"
            )
        return int(self._data.reshape(()).item())

    def __bool__(self) -> bool:
        if _value_read[0] is not None:
            _value_read[0]("bool")
        if self._data.size != 1:
            raise ShapeError(
                f"bool: the truth value of a tensor with {self._data.size} elements is "
                f"ambiguous (shape {tuple(self.shape)}); use .any() or .all()"
            )
        return bool(self._data.reshape(()).item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise DTypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise DTypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    # by identity, as object's (in C: optimizer state and autograd look tensors up per call)
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        from ember.core.printing import tensor_repr

        return tensor_repr(self)

    def __deepcopy__(self, memo):
        """A copy of a leaf tensor with its own storage (``copy.deepcopy`` of modules)."""
        if self._node is not None:
            raise AutogradError(
                "deepcopy: only leaf tensors support the deepcopy protocol; detach() first"
            )
        t = type(self).__new__(type(self))
        _init(t, self._data.copy())
        t._rg = self._rg
        memo[id(self)] = t
        return t

    def __reduce__(self):
        raise TypeError("ember tensors are not picklable: use ember.save (safetensors)")


def _scalar(t: Tensor, name: str):
    if _value_read[0] is not None:
        _value_read[0](name)
    if t._data.size != 1:
        raise ShapeError(
            f"{name}: only one-element tensors can be converted to Python scalars; got "
            f"{t._data.size} elements (shape {tuple(t.shape)})"
        )
    return t._data.reshape(()).item()


def _dim(t: Tensor, dim: int, name: str) -> int:
    n = t._data.ndim
    if n == 0 or not -n <= dim < n:
        have = f"range [{-n}, {n - 1}]" if n else "no dimensions"
        raise EmberIndexError(f"{name}: dimension {dim} is out of range (the tensor has {have})")
    return dim % n


def _construct(t: Tensor, args: tuple, dtype) -> None:
    """``Tensor(data)`` copies data into the default float dtype, ``Tensor(*sizes)`` makes a
    zero-filled tensor of that shape, and ``Tensor(tensor)`` aliases ``tensor`` (as PyTorch's
    legacy constructor)."""
    from ember.core.creation import to_array

    target = dtype if dtype is not None else D.get_default_dtype()
    if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
        _init(t, np.zeros(tuple(int(a) for a in args) or (0,), D.as_dtype(target).np))
        return
    if len(args) != 1:
        raise DTypeError(f"Tensor: expected data or sizes, got {args!r}")
    data = args[0]
    if isinstance(data, Tensor) and dtype is None:
        from ember.ops.registry import OPS

        alias = OPS["reshape"](data, shape=data.shape)  # a view that is part of the graph
        for name in ("_data", "_rg", "_grad", "_node", "_vc", "_base", "_hooks", "_out_idx"):
            setattr(t, name, getattr(alias, name))
        return
    if not isinstance(data, (list, tuple, np.ndarray, Tensor)):
        raise DTypeError(f"Tensor: data must be a sequence (got {type(data).__name__})")
    _init(t, to_array(data, target))


def _init(t: Tensor, data: np.ndarray) -> None:
    t._data = data
    t._rg = False
    t._grad = None
    t._node = None
    t._vc = [0]
    t._base = None
    t._hooks = None
    t._out_idx = 0


def _wrap(data: np.ndarray) -> Tensor:
    """A new leaf tensor over ``data`` (no copy): the one constructor the hot path uses."""
    t = _new(Tensor)
    t._data = data
    t._rg = False
    t._grad = None
    t._node = None
    t._vc = [0]
    t._base = None
    t._hooks = None
    t._out_idx = 0
    return t


def register_methods(**methods) -> None:
    """Attach functions as Tensor methods/operators (called by the ``ember.api`` modules)."""
    for name, fn in methods.items():
        setattr(Tensor, name, fn)
