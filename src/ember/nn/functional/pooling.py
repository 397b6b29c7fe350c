"""Pooling of ``ember.nn.functional``: max, average and adaptive pooling in 1-D and 2-D
(PyTorch's signatures; batched or unbatched inputs; 1-D pools run as 2-D over a height of 1).

>>> import ember
>>> import ember.nn.functional as F
>>> F.max_pool2d(ember.arange(16.0).reshape(1, 1, 4, 4), 2)
tensor([[[[ 5.,  7.],
          [13., 15.]]]])
"""

from __future__ import annotations

from ember.errors import DTypeError, EmberValueError, ShapeError
from ember.nn.functional.conv import as_4d, ntuple
from ember.ops import pool as P

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
]


def _prepare(name, input, nd):
    if not input.is_floating_point():
        raise DTypeError(f"{name}: expected a floating-point input, got {input.dtype.name}")
    x, restore = as_4d(name, input, nd)
    if any(n == 0 for n in x.shape[1:]):
        raise ShapeError(f"{name}: expected input with non-zero sizes, got {tuple(input.shape)}")
    return x, restore


def _window_args(name, nd, kernel_size, stride, padding, dilation):
    lead = (1,) * (2 - nd)
    kernel = lead + ntuple(name, "kernel_size", kernel_size, nd)
    if stride is None or (not isinstance(stride, int) and len(stride) == 0):
        stride = kernel
    else:
        stride = lead + ntuple(name, "stride", stride, nd)
    dilation = lead + ntuple(name, "dilation", dilation, nd)
    padding = (0,) * (2 - nd) + ntuple(name, "padding", padding, nd)
    for what, v in (("kernel size", kernel), ("stride", stride), ("dilation", dilation)):
        if min(v) < 1:
            raise EmberValueError(f"{name}: {what} should be greater than zero, got {v[2 - nd :]}")
    if any(p < 0 or p > k // 2 for p, k in zip(padding, kernel)):
        raise EmberValueError(
            f"{name}: pad should be at most half of effective kernel size, but got pad="
            f"{padding[2 - nd :]}, kernel_size={kernel[2 - nd :]} and dilation={dilation[2 - nd :]}"
        )
    return kernel, stride, padding, dilation


def _check_out(name, x, input, attrs):
    try:
        P._pool_shape(x.shape, **attrs)
    except ShapeError as e:
        raise ShapeError(f"{name}: {e} (input shape {tuple(input.shape)})") from None


def _max_pool(name, nd, input, kernel_size, stride, padding, dilation, ceil_mode, ret):
    x, restore = _prepare(name, input, nd)
    kernel, stride, padding, dilation = _window_args(
        name, nd, kernel_size, stride, padding, dilation
    )
    attrs = dict(
        kernel=kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=bool(ceil_mode)
    )
    _check_out(name, x, input, attrs)
    if not ret:
        return restore(P.max_pool2d(x, **attrs))
    idx = P.max_pool2d_indices(x, **attrs)
    out = P.max_pool_gather(x, idx, overlap=P.overlapping(kernel, stride, dilation))
    return restore(out), restore(idx)


def max_pool2d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """2-D max pooling of (N, C, H, W) or (C, H, W) ``input``; ``stride`` defaults to
    ``kernel_size``. With ``return_indices`` also the flat H * W positions of the maxima.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> out, idx = F.max_pool2d(ember.tensor([[[1.0, 3.0], [2.0, 0.0]]]), 2, return_indices=True)
    >>> out, idx
    (tensor([[[3.]]]), tensor([[[1]]]))
    """
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool1d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """1-D max pooling of (N, C, L) or (C, L) ``input``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.max_pool1d(ember.tensor([[1.0, 5.0, 2.0, 4.0]]), 2)
    tensor([[5., 4.]])
    """
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _avg_pool(name, nd, input, kernel_size, stride, padding, ceil_mode, cip, divisor):
    x, restore = _prepare(name, input, nd)
    kernel, stride, padding, _ = _window_args(name, nd, kernel_size, stride, padding, 1)
    if divisor is not None and (not isinstance(divisor, int) or divisor == 0):
        raise EmberValueError(f"{name}: divisor must be a non-zero int, got {divisor!r}")
    attrs = dict(
        kernel=kernel,
        stride=stride,
        padding=padding,
        ceil_mode=bool(ceil_mode),
        count_include_pad=bool(cip),
        divisor_override=divisor,
    )
    _check_out(name, x, input, attrs)
    return restore(P.avg_pool2d(x, **attrs))


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    """2-D average pooling (PyTorch's divisor rules for padding, ``ceil_mode`` and
    ``divisor_override``).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.avg_pool2d(ember.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.avg_pool1d(ember.tensor([[1.0, 3.0, 5.0, 7.0]]), 2)
    tensor([[2., 6.]])
    """
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def _out_size(name, output_size, x, nd):
    sizes = (
        (output_size,) * nd if output_size is None or isinstance(output_size, int) else output_size
    )
    sizes = tuple(sizes)
    if len(sizes) == 1 and nd == 2:
        sizes = sizes * 2
    if len(sizes) != nd:
        raise EmberValueError(f"{name}: output_size must be {nd} ints, got {output_size!r}")
    sizes = (1,) * (2 - nd) + tuple(
        x.shape[4 - nd + i] if s is None else s for i, s in enumerate(sizes)
    )
    if any(not isinstance(s, int) or s < 1 for s in sizes):
        raise EmberValueError(
            f"{name}: output_size must be positive, got {output_size!r} for input of shape "
            f"{tuple(x.shape)}"
        )
    return sizes


def _window_map(n, o):
    """resample_axis attributes that average PyTorch's adaptive windows of one axis."""
    start, end, _ = P.adaptive_windows(n, o)
    src, dst, wts = [], [], []
    for i, (a, b) in enumerate(zip(start.tolist(), end.tolist())):
        src += range(a, b)
        dst += [i] * (b - a)
        wts += [1.0 / (b - a)] * (b - a)
    return dict(src=tuple(src), dst=tuple(dst), wts=tuple(wts), size=o)


def _adaptive_avg(name, nd, input, output_size):
    x, restore = _prepare(name, input, nd)
    oh, ow = _out_size(name, output_size, x, nd)
    h, w = x.shape[2:]
    if h % oh == 0 and w % ow == 0:
        k = (h // oh, w // ow)
        out = P.avg_pool2d(
            x,
            kernel=k,
            stride=k,
            padding=(0, 0),
            ceil_mode=False,
            count_include_pad=True,
            divisor_override=None,
        )
        return restore(out)
    out = P.resample_axis(x, axis=3, **_window_map(w, ow)) if w != ow else x
    out = P.resample_axis(out, axis=2, **_window_map(h, oh)) if h != oh else out
    return restore(out)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to ``output_size`` (an int, a pair, None entries keep the input size)
    with PyTorch's windows: row i covers [floor(i * H / oh), ceil((i + 1) * H / oh)).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.adaptive_avg_pool2d(ember.ones(2, 3, 5, 7), (2, None)).shape
    (2, 3, 2, 7)
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool1d(input, output_size):
    """1-D adaptive average pooling.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.adaptive_avg_pool1d(ember.tensor([[1.0, 2.0, 3.0]]), 2)
    tensor([[1.5000, 2.5000]])
    """
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def _adaptive_max(name, nd, input, output_size, return_indices):
    x, restore = _prepare(name, input, nd)
    oh, ow = _out_size(name, output_size, x, nd)
    h, w = x.shape[2:]
    if h % oh == 0 and w % ow == 0:
        k = (h // oh, w // ow)
        res = _max_pool(name, 2, x, k, k, 0, 1, False, return_indices)
        return (restore(res[0]), restore(res[1])) if return_indices else restore(res)
    idx = P.adaptive_max_pool2d_indices(x, output_size=(oh, ow))
    out = P.max_pool_gather(x, idx, overlap=True)
    return (restore(out), restore(idx)) if return_indices else restore(out)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to ``output_size`` over PyTorch's adaptive windows.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.adaptive_max_pool2d(ember.arange(9.0).reshape(1, 3, 3), 2)
    tensor([[[4., 5.],
             [7., 8.]]])
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """1-D adaptive max pooling.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.adaptive_max_pool1d(ember.tensor([[1.0, 3.0, 2.0]]), 2)
    tensor([[3., 3.]])
    """
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)
