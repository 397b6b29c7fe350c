"""Convolutions of ``ember.nn.functional``: ``conv1d``, ``conv2d``, ``conv_transpose1d``,
``conv_transpose2d`` (PyTorch's signatures; NCHW; unbatched inputs accepted).

1-D convolutions run as 2-D ones over a height of 1.

>>> import ember
>>> import ember.nn.functional as F
>>> F.conv2d(ember.ones(1, 1, 3, 3), ember.ones(1, 1, 2, 2)).shape
(1, 1, 2, 2)
"""

from __future__ import annotations

from ember.errors import DTypeError, EmberValueError, ShapeError
from ember.ops import conv as P
from ember.ops import elementwise as E
from ember.ops import movement as M

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


def ntuple(name: str, what: str, value, n: int) -> tuple:
    """An int or a sequence of ``n`` ints as a tuple of ``n`` ints."""
    t = (value,) * n if isinstance(value, int) else tuple(value)
    if len(t) == 1 and n > 1:
        t = t * n
    if len(t) != n or not all(isinstance(v, int) for v in t):
        raise EmberValueError(f"{name}: expected {what} to be an int or {n} ints, got {value!r}")
    return t


def as_4d(name: str, x, nd: int):
    """``x`` as an (N, C, H, W) tensor, and the function that restores the caller's layout."""
    if x.ndim not in (nd + 1, nd + 2):
        raise ShapeError(
            f"{name}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got input "
            f"of shape {tuple(x.shape)}"
        )
    unbatched = x.ndim == nd + 1
    shape = ((1,) if unbatched else ()) + tuple(x.shape)
    if nd == 1:
        shape = shape[:2] + (1,) + shape[2:]
    x4 = M.reshape(x, shape=shape) if shape != tuple(x.shape) else x

    def restore(y):
        s = tuple(y.shape)
        s = s[1:] if unbatched else s
        s = s[:-2] + s[-1:] if nd == 1 else s
        return M.reshape(y, shape=s) if s != tuple(y.shape) else y

    return x4, restore


def _check_dtypes(name, *tensors):
    dts = [t.dtype for t in tensors if t is not None]
    if any(d != dts[0] for d in dts) or not dts[0].is_floating_point:
        raise DTypeError(
            f"{name}: expected floating-point input, weight and bias of one dtype, got "
            + ", ".join(d.name for d in dts)
        )


def _positive(name, what, values, word="greater than zero"):
    if any(v < 1 for v in values):
        raise EmberValueError(f"{name}: {what} should be {word}, got {values}")


def _padding(name, padding, kernel, stride, dilation, nd):
    """(top, bottom, left, right) for an int/tuple/'valid'/'same' padding."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise EmberValueError(
                f"{name}: invalid padding string {padding!r}, expected 'valid' or 'same'"
            )
        if any(s != 1 for s in stride):
            raise EmberValueError(
                f"{name}: padding='same' is not supported for strided convolutions "
                f"(stride={stride[-nd:]})"
            )
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return (total[0] // 2, total[0] - total[0] // 2, total[1] // 2, total[1] - total[1] // 2)
    p = ntuple(name, "padding", padding, nd)
    if any(v < 0 for v in p):
        raise EmberValueError(f"{name}: negative padding is not supported, got {p}")
    p = (0,) * (2 - nd) + p
    return (p[0], p[0], p[1], p[1])


def _check_weight(name, x, w, b, groups, nd, transposed=False):
    ws, xs = tuple(w.shape), tuple(x.shape)
    if len(ws) != nd + 2:
        raise ShapeError(f"{name}: expected {nd + 2}-D weight, got weight of shape {ws}")
    if not isinstance(groups, int) or groups < 1:
        raise EmberValueError(f"{name}: non-positive groups is not supported, got {groups}")
    if ws[0] % groups:
        raise ShapeError(
            f"{name}: given groups={groups}, expected weight to be divisible by {groups} at "
            f"dimension 0, but got weight of shape {ws}"
        )
    c_in = ws[0] if transposed else ws[1] * groups
    if xs[1] != c_in:
        raise ShapeError(
            f"{name}: given groups={groups}, weight of shape {ws}, expected input{xs} to have "
            f"{c_in} channels, but got {xs[1]} channels instead"
        )
    c_out = ws[1] * groups if transposed else ws[0]
    if b is not None and tuple(b.shape) != (c_out,):
        raise ShapeError(
            f"{name}: given weight of shape {ws}, expected bias to be 1-D with {c_out} "
            f"elements, but got bias of shape {tuple(b.shape)}"
        )


def _conv(name, nd, input, weight, bias, stride, padding, dilation, groups):
    x, restore = as_4d(name, input, nd)
    _check_weight(name, x, weight, bias, groups, nd)
    _check_dtypes(name, input, weight, bias)
    stride = (1,) * (2 - nd) + ntuple(name, "stride", stride, nd)
    dilation = (1,) * (2 - nd) + ntuple(name, "dilation", dilation, nd)
    _positive(name, "stride", stride[2 - nd :])
    _positive(name, "dilation", dilation[2 - nd :])
    w = weight if nd == 2 else M.reshape(weight, shape=weight.shape[:2] + (1,) + weight.shape[2:])
    kernel = tuple(w.shape[2:])
    pads = _padding(name, padding, kernel, stride, dilation, nd)
    hp, wp = x.shape[2] + pads[0] + pads[1], x.shape[3] + pads[2] + pads[3]
    kh, kw = ((k - 1) * d + 1 for k, d in zip(kernel, dilation))
    if kh > hp or kw > wp:
        sizes = (hp, wp)[2 - nd :]
        ks = (kh, kw)[2 - nd :]
        raise ShapeError(
            f"{name}: calculated padded input size per channel: ({' x '.join(map(str, sizes))})."
            f" Kernel size: ({' x '.join(map(str, ks))}). Kernel size can't be greater than "
            f"actual input size (input shape {tuple(input.shape)})"
        )
    args = (x, w) if bias is None else (x, w, bias)
    out = P.conv2d(*args, stride=stride, padding=pads, dilation=dilation, groups=groups)
    return restore(out)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of (N, C, H, W) or (C, H, W) ``input`` with
    ``weight`` of shape (out_channels, C / groups, kH, kW); ``padding`` may be an int, a pair,
    'valid' or 'same' (stride 1; odd extra padding goes to the bottom/right, as in PyTorch).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> x = ember.arange(16.0).reshape(1, 1, 4, 4)
    >>> F.conv2d(x, ember.ones(1, 1, 2, 2), stride=2)
    tensor([[[[10., 18.],
              [42., 50.]]]])
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of (N, C, L) or (C, L) ``input`` with weight (out, C / groups, k).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.conv1d(ember.tensor([[[1.0, 2.0, 3.0, 4.0]]]), ember.tensor([[[1.0, -1.0]]]))
    tensor([[[-1., -1., -1.]]])
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def _conv_t(name, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    x, restore = as_4d(name, input, nd)
    _check_weight(name, x, weight, bias, groups, nd, transposed=True)
    _check_dtypes(name, input, weight, bias)
    lead = (1,) * (2 - nd)
    stride = lead + ntuple(name, "stride", stride, nd)
    dilation = lead + ntuple(name, "dilation", dilation, nd)
    pad = (0,) * (2 - nd) + ntuple(name, "padding", padding, nd)
    opad = (0,) * (2 - nd) + ntuple(name, "output_padding", output_padding, nd)
    _positive(name, "stride", stride[2 - nd :])
    _positive(name, "dilation", dilation[2 - nd :])
    if any(v < 0 for v in pad + opad):
        raise EmberValueError(f"{name}: negative padding is not supported, got {pad[2 - nd :]}")
    if any(o >= s and o >= d for o, s, d in zip(opad, stride, dilation)):
        raise EmberValueError(
            f"{name}: output padding must be smaller than either stride or dilation, but got "
            f"output_padding={opad[2 - nd :]}, stride={stride[2 - nd :]}, "
            f"dilation={dilation[2 - nd :]}"
        )
    w = weight if nd == 2 else M.reshape(weight, shape=weight.shape[:2] + (1,) + weight.shape[2:])
    size = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + o + 1
        for n, s, p, d, k, o in zip(x.shape[2:], stride, pad, dilation, w.shape[2:], opad)
    )
    if min(size) < 1:
        raise ShapeError(
            f"{name}: given input of shape {tuple(input.shape)}, the calculated output size "
            f"{size[2 - nd :]} is too small"
        )
    out = P.conv2d_input_grad(
        x, w, size=size, stride=stride, padding=pad, dilation=dilation, groups=groups
    )
    if bias is not None:
        out = E.add(out, M.reshape(bias, shape=(-1, 1, 1)))
    return restore(out)


def conv_transpose2d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """2-D transposed convolution ("deconvolution"): the gradient of ``conv2d`` with respect
    to its input. ``weight`` has shape (in_channels, out_channels / groups, kH, kW).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.conv_transpose2d(ember.ones(1, 1, 2, 2), ember.ones(1, 1, 2, 2), stride=2).shape
    (1, 1, 4, 4)
    """
    return _conv_t(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose1d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """1-D transposed convolution; ``weight`` has shape (in_channels, out / groups, k).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.conv_transpose1d(ember.ones(1, 1, 2), ember.tensor([[[1.0, 2.0]]]))
    tensor([[[1., 3., 2.]]])
    """
    return _conv_t(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )
