"""Joining and splitting: ``cat``, ``stack``, ``hstack``, ``vstack``, ``dstack``, ``split``,
``chunk``, ``unbind``, ``narrow`` (re-exported by ``ember.api.shape``).

Every piece that ``split``, ``chunk``, ``unbind`` and ``narrow`` return is a view of the input
and its own op output: the gradient of a piece that is never used is simply absent.

>>> import ember
>>> a, b = ember.arange(5).split([2, 3])
>>> ember.cat([b, a])
tensor([2, 3, 4, 0, 1])
"""

from __future__ import annotations

from ember import dtypes as D
from ember.core.tensor import Tensor, register_methods
from ember.errors import DTypeError, EmberIndexError, EmberValueError, ShapeError
from ember.ops import elementwise as E
from ember.ops import movement as P

__all__ = [
    "cat",
    "concat",
    "concatenate",
    "stack",
    "hstack",
    "vstack",
    "dstack",
    "split",
    "chunk",
    "unbind",
    "narrow",
    "select",
]


def _dim(name: str, dim, ndim: int) -> int:
    """``dim`` in ``[-ndim, ndim)`` made non-negative (0-dim tensors accept 0 and -1)."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise EmberIndexError(
            f"{name}: dim {dim} is out of range for a tensor of {ndim} dimensions "
            f"(expected a dim in [{-n}, {n - 1}])"
        )
    return dim % n


def _tensor_list(name: str, tensors) -> list:
    if isinstance(tensors, Tensor):
        raise DTypeError(f"{name}: expected a sequence of tensors, got a single Tensor")
    tensors = list(tensors)
    if not tensors:
        raise EmberValueError(f"{name}: expected a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise DTypeError(f"{name}: expected a Tensor as element {i}, got {type(t).__name__}")
    return tensors


def cat(tensors, dim: int = 0):
    """Concatenate tensors along an existing dim ``dim``, promoting dtypes as PyTorch does.

    As in PyTorch, 1-D empty tensors (shape ``(0,)``) are skipped whatever the other shapes.

    >>> import ember
    >>> ember.cat([ember.zeros(1, 2), ember.ones(2, 2, dtype=ember.int64)]).shape
    (3, 2)
    """
    tensors = _tensor_list("cat", tensors)
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise ShapeError(
                f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated"
            )
    kept = [t for t in tensors if t.shape != (0,)]
    if not kept:
        return P.cat(*tensors, dim=0)
    if len(kept) < len(tensors):  # skipped tensors still take part in the result dtype
        target = D.result_np_dtype([t._data.dtype for t in tensors], (), ())
        kept = [t if t._data.dtype == target else E.cast(t, dtype=target) for t in kept]
    return P.cat(*kept, dim=_dim("cat", dim, kept[0].ndim))


concat = cat


def concatenate(tensors, axis: int = 0):
    """``cat`` with NumPy's argument name."""
    return cat(tensors, axis)


def stack(tensors, dim: int = 0):
    """Join equally shaped tensors along a new dim ``dim``.

    >>> import ember
    >>> ember.stack([ember.zeros(3), ember.ones(3)], dim=1).shape
    (3, 2)
    """
    tensors = _tensor_list("stack", tensors)
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise ShapeError(
                f"stack: expects each tensor to be equal size, but got {shape} at entry 0 and "
                f"{tuple(t.shape)} at entry {i}"
            )
    return P.stack(*tensors, dim=_dim("stack", dim, len(shape) + 1))


def _at_least(t, ndim):
    shape = t.shape
    if len(shape) >= ndim:
        return t
    if ndim == 3 and len(shape) == 2:
        return P.reshape(t, shape=shape + (1,))
    if ndim == 3 and len(shape) == 1:
        return P.reshape(t, shape=(1,) + shape + (1,))
    return P.reshape(t, shape=(1,) * (ndim - len(shape)) + shape)


def hstack(tensors):
    """Concatenate along dim 1 (dim 0 for 1-D tensors); 0-D tensors become 1-D."""
    tensors = [_at_least(t, 1) for t in _tensor_list("hstack", tensors)]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """Concatenate along dim 0 after making every tensor at least 2-D (rows)."""
    return cat([_at_least(t, 2) for t in _tensor_list("vstack", tensors)], 0)


def dstack(tensors):
    """Concatenate along dim 2 after making every tensor at least 3-D."""
    return cat([_at_least(t, 3) for t in _tensor_list("dstack", tensors)], 2)


def narrow(input, dim: int, start: int, length: int):
    """Elements ``start:start + length`` of dim ``dim`` (a view; ``start`` may be negative).

    >>> import ember
    >>> ember.arange(5).narrow(0, 1, 3)
    tensor([1, 2, 3])
    """
    if input.ndim == 0:
        raise ShapeError("narrow: cannot be applied to a 0-dim tensor")
    d = _dim("narrow", dim, input.ndim)
    n = input.shape[d]
    start, length = int(start), int(length)
    if not -n <= start <= n:
        raise EmberIndexError(
            f"narrow: start {start} is out of range for dim {d} of size {n} "
            f"(expected a start in [{-n}, {n}])"
        )
    if start < 0:
        start += n
    if length < 0:
        raise ShapeError(f"narrow: length must be non-negative, got {length}")
    if start + length > n:
        raise ShapeError(
            f"narrow: start ({start}) + length ({length}) exceeds the size ({n}) of dim {d} "
            f"of shape {tuple(input.shape)}"
        )
    return P.narrow(input, dim=d, start=start, length=length)


def _pieces(input, d, sizes):
    out = []
    start = 0
    for s in sizes:
        out.append(P.narrow(input, dim=d, start=start, length=s))
        start += s
    return tuple(out)


def _even_sizes(n, size):
    return [size] * (n // size) + ([n % size] if n % size else [])


def _vector_input(name, input):
    if input.ndim == 0:
        raise ShapeError(f"{name}: expects at least a 1-dimensional tensor, got a 0-d tensor")


def split(tensor, split_size_or_sections, dim: int = 0):
    """Split into pieces of ``split_size_or_sections`` (an int: equal pieces, the last one
    smaller; a list: those sizes, which must sum to the dim's length). Pieces are views.

    >>> import ember
    >>> [p.tolist() for p in ember.arange(5).split(2)]
    [[0, 1], [2, 3], [4]]
    """
    _vector_input("split", tensor)
    d = _dim("split", dim, tensor.ndim)
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, (int, Tensor)):
        size = int(split_size_or_sections)
        if size < 0:
            raise ShapeError(f"split: split_size must be non-negative, got {size}")
        if size == 0 and n:
            raise ShapeError(
                f"split: split_size can only be 0 if the dim size is 0, but dim {d} of shape "
                f"{tuple(tensor.shape)} has size {n}"
            )
        return _pieces(tensor, d, _even_sizes(n, size) if n else [0])
    return split_with_sizes(tensor, split_size_or_sections, d)


def split_with_sizes(input, split_sizes, dim: int = 0):
    _vector_input("split_with_sizes", input)
    d = _dim("split_with_sizes", dim, input.ndim)
    sizes = [int(s) for s in split_sizes]
    n = input.shape[d]
    if any(s < 0 for s in sizes):
        raise ShapeError(f"split: split sizes must be non-negative, got {sizes}")
    if sum(sizes) != n:
        raise ShapeError(
            f"split: split sizes {sizes} must sum exactly to {n} (the size of dim {d} of shape "
            f"{tuple(input.shape)}), but they sum to {sum(sizes)}"
        )
    return _pieces(input, d, sizes)


def chunk(input, chunks: int, dim: int = 0):
    """Split into ``chunks`` pieces of ``ceil(size / chunks)`` elements (fewer pieces when
    that size already covers the dim). Pieces are views.

    >>> import ember
    >>> [p.shape for p in ember.zeros(6).chunk(4)]
    [(2,), (2,), (2,)]
    """
    _vector_input("chunk", input)
    if chunks <= 0:
        raise EmberValueError(f"chunk: chunks must be greater than 0, got {chunks}")
    d = _dim("chunk", dim, input.ndim)
    n = input.shape[d]
    if n == 0:
        return _pieces(input, d, [0] * chunks)
    return _pieces(input, d, _even_sizes(n, -(-n // chunks)))


def unbind(input, dim: int = 0):
    """The slices along ``dim``, with that dim removed (views).

    >>> import ember
    >>> [t.tolist() for t in ember.tensor([[1, 2], [3, 4]]).unbind(1)]
    [[1, 3], [2, 4]]
    """
    if input.ndim == 0:
        raise EmberIndexError(f"unbind: dim {dim} given but the tensor has no dimensions")
    d = _dim("unbind", dim, input.ndim)
    return tuple(P.select(input, dim=d, index=i) for i in range(input.shape[d]))


def select(input, dim: int, index: int):
    """The slice at position ``index`` (may be negative) of dim ``dim``, which is removed (a
    view).

    >>> import ember
    >>> ember.arange(6).reshape(2, 3).select(1, -1)
    tensor([2, 5])
    """
    if input.ndim == 0:
        raise EmberIndexError(f"select: dim {dim} given but the tensor has no dimensions")
    d = _dim("select", dim, input.ndim)
    n = input.shape[d]
    index = int(index)
    if not -n <= index < n:
        raise EmberIndexError(
            f"select: index {index} is out of range for dim {d} of size {n} (shape "
            f"{tuple(input.shape)})"
        )
    return P.select(input, dim=d, index=index % n)


register_methods(
    narrow=narrow,
    split=split,
    split_with_sizes=split_with_sizes,
    chunk=chunk,
    unbind=unbind,
    select=select,
)
