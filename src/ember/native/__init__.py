"""ember's native kernels: C compiled on first use, where NumPy needs one pass per operation.

A layer norm, a softmax, a select, a max pooling or an optimizer update is several NumPy
passes over memory; the C kernels of this package (``rows.c``, ``select.c``, ``pool.c``,
``optim.c``, ``lstm.c``, ``conv.c``) read and write each array once. They are built by
the machine's C compiler the first time a kernel is asked for (``ember.native.build``) and
cached; eager and compiled code call the same kernels, so both forms keep giving the same
bits. Without a compiler, or with ``EMBER_NATIVE=0`` in the environment, ``kernel`` returns
None and every caller runs its NumPy kernel (``use(False)`` does the same for a block).

>>> import numpy as np, ember.native
>>> ember.native.kernel("softmax", np.float32) is None or ember.native.status() == "loaded"
True
"""

from __future__ import annotations

import contextlib
import ctypes
import os

import numpy as np

from ember.native import build

_P = ctypes.c_void_p
_L = ctypes.c_long
_D = ctypes.c_double
_FLOATS = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}
_WIDTHS = {2: "u16", 4: "u32", 8: "u64"}  # element sizes of the bit-pattern kernels
# entry point -> (argument types, {key: C name suffix}); all return void but those in
# _RESTYPES (-1 when out of memory). A kernel is asked for by its name and key: a float dtype
# for the row kernels, an element size for selects.
SIGNATURES = {
    "layer_norm": ((_P, _P, _P, _P, _L, _L, _D), _FLOATS),
    "layer_norm_grad": ((_P, _P, _P, _P, _P, _P, _L, _L, _D), _FLOATS),
    "softmax": ((_P, _P, _L, _L), _FLOATS),
    "log_softmax": ((_P, _P, _L, _L), _FLOATS),
    "softmax_grad": ((_P, _P, _P, _L, _L), _FLOATS),
    "cross_entropy": ((_P, _P, _P, _L, _L, ctypes.c_int64), _FLOATS),
    "sigmoid": ((_P, _P, _L), {np.dtype(np.float32): "f32"}),
    "cross_entropy_grad": ((_P, _P, _P, _L, _P, _L, _L, ctypes.c_int64), _FLOATS),
    "cross_entropy_with_grad": ((_P, _P, _P, _L, _P, _P, _L, _L, ctypes.c_int64), _FLOATS),
    "max_pool_2x2": ((_P, _P, *(_L,) * 5), _FLOATS),
    "max_pool_2x2_grad": ((_P, _P, _P, _P, *(_L,) * 5), _FLOATS),
    "select": ((_P, _P, _P, _P, _L), _WIDTHS),
    "select_zero": ((_P, _P, _P, _L, _L), _WIDTHS),
    "sgd_step": ((_P, _P, _P, _L, _D, _D, _D, _L), _FLOATS),
    "adam_step": ((_P, _P, _P, _P, _P, _L, *(_D,) * 6), _FLOATS),
    "lstm_step": ((_P, _P, _P, _P, _L, _L, _L), _FLOATS),
    "lstm_step_grad": ((*(_P,) * 7, _L, _L, _L), _FLOATS),
    "conv2d_direct": ((*(_P,) * 4, *(_L,) * 7), _FLOATS),
    "conv2d_direct_weight_grad": ((*(_P,) * 3, *(_L,) * 9), _FLOATS),
}

# entry points called through ember.native.call (``int f(const long *dims, void *const
# *ptrs)``): kernel(name, key) gives their address, an int
PACKED = {
    "cross_entropy_loss_grad": _FLOATS,
    "column_sum": _FLOATS,
    "sgd_step_packed": _FLOATS,
    "adam_step_packed": _FLOATS,
    "amsgrad_step_packed": _FLOATS,
    "select_packed": _WIDTHS,
    "select_zero_packed": _WIDTHS,
}

# return types of the kernels that return something: 0 or -1 (out of memory), or a count
_RESTYPES = {
    "conv2d_direct": ctypes.c_int,
    "conv2d_direct_weight_grad": ctypes.c_int,
    "cross_entropy": ctypes.c_long,  # rows not ignored
}

# float32 scalar functions exported over arrays, for accuracy tests
_ARRAY_FUNCTIONS = ("exp_nonpositive", "tanh")

_on = [os.environ.get("EMBER_NATIVE", "1").lower() not in ("0", "false", "off", "no")]
_state: dict = {}  # "kernels": {(name, dtype): function}, "why": why there are none


def extension(module: str, source: str):
    """(the CPython extension ``module`` built from ``source``, or None; why not), with
    ``EMBER_NATIVE=0`` honoured: what the C dispatcher, the C backward walk and the C call
    wrapper load themselves with.

    >>> module, why = extension("_ember_call", "call.c")
    >>> (module is None) == bool(why)
    True
    """
    if not _on[0]:
        return None, "EMBER_NATIVE is off"
    return build.load_extension(module, source)


_from_buffer = ctypes.c_char.from_buffer
_addressof = ctypes.addressof


def address(a: np.ndarray) -> int:
    """The address of ``a``'s first element, to pass to a kernel. A writable C-contiguous
    array goes through the buffer protocol (0.7 us here); anything else (read-only, empty,
    strided) through ``a.ctypes.data`` (1.5 us, and the same address).

    >>> import numpy as np
    >>> a = np.zeros(3)
    >>> address(a) == a.ctypes.data == address(a[:0])
    True
    """
    try:
        return _addressof(_from_buffer(a))
    except (TypeError, ValueError, BufferError):
        return a.ctypes.data


def kernel(name: str, key):
    """The C function ``name`` for ``key`` (a dtype, or an element size), or None (native
    kernels off, not built here, or no version for this key)."""
    if not _on[0]:
        return None
    kernels = _state.get("kernels")
    if kernels is None:
        kernels = _load()
    return kernels.get((name, key))


def status() -> str:
    """'loaded', 'disabled', or why the library could not be built."""
    if not _on[0]:
        return "disabled"
    if "kernels" not in _state:
        _load()
    return "loaded" if _state["kernels"] else _state["why"]


@contextlib.contextmanager
def use(flag: bool):
    """Turn the native kernels on or off inside a ``with`` block (tests, comparisons).

    The C dispatcher (``ember.native.dispatch``) is not a kernel and stays: it is chosen once,
    at import, and runs the same Python forwards, which then take their NumPy paths. Only
    ``EMBER_NATIVE=0`` in the environment turns off both."""
    old, _on[0] = _on[0], bool(flag)
    try:
        yield
    finally:
        _on[0] = old


def _load() -> dict:
    handle, why = build.load()
    kernels = {}
    if handle is not None:
        for name, (argtypes, suffixes) in SIGNATURES.items():
            for key, suffix in suffixes.items():
                fn = getattr(handle, f"ember_{name}_{suffix}")
                fn.argtypes = argtypes
                fn.restype = _RESTYPES.get(name)
                kernels[name, key] = fn
        for name, suffixes in PACKED.items():
            for key, suffix in suffixes.items():
                fn = getattr(handle, f"ember_{name}_{suffix}")
                kernels[name, key] = ctypes.cast(fn, ctypes.c_void_p).value
        for name in _ARRAY_FUNCTIONS:
            fn = getattr(handle, f"ember_{name}_f32")
            fn.argtypes, fn.restype = (_P, _P, _L), None
            _state[name] = fn
        lanes = handle.ember_conv2d_direct_lanes
        lanes.argtypes, lanes.restype = (_L,), _L
        _state["lanes"] = lanes
    _state["kernels"], _state["why"] = kernels, why
    return kernels


def vector_lanes(itemsize: int) -> int:
    """Elements of ``itemsize`` bytes per SIMD vector in the native kernels (0 without them):
    the narrowest output row the direct convolution takes."""
    if kernel("conv2d_direct", np.dtype(np.float32)) is None:
        return 0
    return int(_state["lanes"](itemsize))


def _array_function(name: str, x: np.ndarray) -> np.ndarray:
    fn = kernel("softmax", np.dtype(np.float32)) and (
        _state.get(name) or kernel(name, np.dtype(np.float32))
    )
    if fn is None:
        raise RuntimeError(f"ember.native: kernels not available ({status()})")
    x = np.ascontiguousarray(x, np.float32)
    y = np.empty_like(x)
    fn(address(x), address(y), x.size)
    return y


def exp_nonpositive(x: np.ndarray) -> np.ndarray:
    """The float32 ``exp`` the native softmax uses, for ``x <= 0`` (to test its accuracy)."""
    return _array_function("exp_nonpositive", x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The float32 sigmoid of ``ember.sigmoid`` and the native LSTM step (to test its
    accuracy)."""
    return _array_function("sigmoid", x)


def tanh(x: np.ndarray) -> np.ndarray:
    """The float32 tanh of the native LSTM step (to test its accuracy)."""
    return _array_function("tanh", x)
