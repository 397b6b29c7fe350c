"""Eager dispatch: run one op on Tensors and record it for autograd.

The hot path is ``apply``: unwrap arrays, run the NumPy forward, wrap the result, and record a
graph node only when gradients are needed. Checks that NumPy already makes (shapes, index
bounds) are not repeated: when the forward fails, ``_failure`` runs the op's shape/dtype rules
to produce an error that names the op, the shapes and the dtypes.

Where a C compiler is available, ``apply`` is the C function of ``ember/native/dispatch.c``:
it runs the common case (tensors and Python scalars that need no conversion, nothing being
traced) and hands every other call to ``python_apply``, the function written here, which
also runs alone without a compiler. Recording (``_record``) and views (``_as_view``) stay
in Python for both.
"""

from __future__ import annotations

import numpy as np

from ember import dtypes as D
from ember.core import anomaly
from ember.core.autograd import Node, edge_to
from ember.core.grad_mode import _enabled
from ember.core.inplace import note_view
from ember.core.tensor import Tensor, _wrap
from ember.core.trace_hooks import tracer as _tracer
from ember.errors import DTypeError, EmberError, EmberIndexError, ShapeError
from ember.native import dispatch as native_dispatch
from ember.ops import registry
from ember.ops.registry import Meta

_SCALARS = (bool, int, float)

# When on (the op test harness turns it on), every op's shape and dtype rules are checked
# against the output of its forward.
check_rules = [False]


def apply(op, args, attrs):
    """Run ``op`` on ``args`` (Tensors, Python scalars, arrays) with keyword ``attrs``."""
    if op.prep:
        # inline, the commonest case of all: one or two tensors of one dtype that ``op``
        # takes as they are (``op.direct``)
        a = args[0]
        n = len(args)
        if not (
            a.__class__ is Tensor
            and (d := a._data.dtype) in op.direct
            and (n == 1 or (n == 2 and args[1].__class__ is Tensor and args[1]._data.dtype is d))
        ) and not _no_conversion(op, args):
            args = _prepare(op, args)
    arrays = []
    rg = False
    for a in args:
        if a.__class__ is Tensor or isinstance(a, Tensor):
            arrays.append(a._data)
            if a._rg:
                rg = True
        else:
            arrays.append(a)
    try:
        out = op.forward(*arrays, **attrs)
    except Exception as exc:  # noqa: BLE001 - every failure becomes an error naming the op
        raise _failure(op, args, attrs, exc) from None
    if out.__class__ is not np.ndarray:
        out = np.asarray(out)
    if check_rules[0]:
        verify_rules(op, args, attrs, out)
    t = _wrap(out)
    if op.view:
        _as_view(t, args, op, attrs, rg)
    if rg and _enabled[0] and op.vjp is not None:
        _record(op, t, args, attrs)
    if _tracer[0] is not None:
        _tracer[0].record(op, args, attrs, t)
    return t


def _as_view(t: Tensor, args, op, attrs, rg: bool) -> None:
    """Make ``t``, the result of a view op, share its input's version counter and base when
    its array is a view of the input's memory. NumPy points a view's base at the array that
    owns the memory, while a copy made inside the forward (reshape of a non-contiguous
    array) has a fresh temporary as its base."""
    src = args[0]
    if not isinstance(src, Tensor):
        return
    a0 = src._data
    if (ob := t._data.base) is not None and (ob is a0 or ob is a0.base):
        t._vc = src._vc
        base = t._base = src._base if src._base is not None else src
        if rg and base._node is not None and _enabled[0]:
            note_view(t, src, base, op, attrs)  # so an in-place op on base can rebase t


_NO_ATTRS: dict = {}


def method(op):
    """A Tensor operator method (``__add__``) calling ``op`` with no detour."""

    def fn(self, other):
        return apply(op, (self, other), _NO_ATTRS)

    fn.__name__ = op.name
    return fn


def unary_method(op, api_fn):
    """A Tensor method (``x.exp()``) for an API function that only calls ``op`` on its
    input: the same call with no detour, and the API function's name and docstring."""

    def fn(self):
        return apply(op, (self,), _NO_ATTRS)

    fn.__name__ = api_fn.__name__
    fn.__doc__ = api_fn.__doc__
    return fn


def rmethod(op):
    """A reflected operator method (``__radd__``): ``other op self``."""

    def fn(self, other):
        return apply(op, (other, self), _NO_ATTRS)

    fn.__name__ = "r" + op.name
    return fn


def _no_conversion(op, args) -> bool:
    """The common case, decided cheaply: tensors of one dtype (plus Python scalars that NumPy
    promotes the way PyTorch does), already acceptable to ``op``."""
    dt = None
    float_scalar = False
    for a in args:
        c = a.__class__
        if c is float:
            float_scalar = True
        elif c is int or c is bool:
            continue
        elif isinstance(a, Tensor):
            d = a._data.dtype
            if dt is None:
                dt = d
            elif d is not dt:
                return False
        else:
            return False
    if dt is None:
        return False
    if dt.kind != "f" and (float_scalar or op.float_inputs):
        return False
    return op.dtypes is None or dt in op.dtypes


def _meta_of(a):
    """What a node keeps of an input it does not need: its shape and dtype."""
    return Meta(a._data.shape, a._data.dtype) if isinstance(a, Tensor) else a


def _version(a) -> int:
    return a._vc[0] if isinstance(a, Tensor) else 0


def _record(op, out: Tensor, args, attrs) -> None:
    # one and two inputs, nearly every op, are spelled out: no loop or generator set-up
    n_args = len(args)
    if n_args == 2:
        a, b = args
        nxt = (edge_to(a), edge_to(b))
    elif n_args == 1:
        nxt = (edge_to(args[0]),)
    else:
        nxt = tuple(map(edge_to, args))
    data = out._data
    node = Node(op, attrs, nxt, data.shape, data.dtype)
    save = op.save_in
    if save == "meta":
        node.saved = tuple(map(_meta_of, args))
    elif save:
        if save != "other":
            node.saved = args
        elif n_args == 2:  # each input is kept only if another input needs a gradient
            node.saved = (
                a if nxt[1] is not None else _meta_of(a),
                b if nxt[0] is not None else _meta_of(b),
            )
        else:
            others = [any(e is not None for e in nxt[:j] + nxt[j + 1 :]) for j in range(n_args)]
            node.saved = tuple(x if k else _meta_of(x) for x, k in zip(args, others))
        if n_args == 2:
            node.saved_vers = (_version(a), _version(b))
        else:
            node.saved_vers = tuple(map(_version, args))
    if op.save_out:
        node.out = data
        node.out_vc = out._vc
        node.out_ver = out._vc[0]
    if anomaly._enabled[0]:
        node.src = anomaly.capture()
    out._node = node
    out._rg = True


# ---- promotion and dtype checks ------------------------------------------------------------


def _prepare(op, args):
    """Convert stray arrays, promote dtypes (PyTorch's result_type) and check allowed dtypes."""
    args = [_as_tensor(a, op) for a in args]
    if op.promote:
        target = _result_type(args)
        if op.float_inputs and target.kind != "f":
            target = D.get_default_dtype().np
        args = [_cast(a, target) if isinstance(a, Tensor) else a for a in args]
    elif op.float_inputs:
        default = D.get_default_dtype().np
        args = [
            _cast(a, default) if isinstance(a, Tensor) and a._data.dtype.kind != "f" else a
            for a in args
        ]
    if op.dtypes is not None:
        for a in args:
            if isinstance(a, Tensor) and a._data.dtype not in op.dtypes:
                allowed = ", ".join(sorted(D._BY_NP[d].name for d in op.dtypes))
                raise DTypeError(
                    f"{op.name}: dtype {a.dtype.name} is not supported (expected one of "
                    f"{allowed}); inputs: {describe(args)}"
                )
    return args


def _as_tensor(a, op):
    if isinstance(a, (Tensor, *_SCALARS)) or a is None:
        return a
    if isinstance(a, np.ndarray):
        D.from_numpy_dtype(a.dtype, op.name)
        return _wrap(a)
    if isinstance(a, np.generic):
        return a.item()
    raise DTypeError(f"{op.name}: unsupported argument of type {type(a).__name__}")


def _result_type(args) -> np.dtype:
    dims, zeros, scalars = [], [], []
    for a in args:
        if isinstance(a, Tensor):
            (dims if a._data.ndim else zeros).append(a._data.dtype)
        elif a is not None:
            scalars.append(D.scalar_np_dtype(a))
    return D.result_np_dtype(dims, zeros, scalars)


def _cast(t: Tensor, target: np.dtype) -> Tensor:
    if t._data.dtype == target:
        return t
    return registry.OPS["cast"](t, dtype=target)


# ---- errors -------------------------------------------------------------------------------


def describe(args) -> str:
    """``float32[3, 4], int64[3], 2.0``: the inputs as an error message shows them."""
    parts = []
    for a in args:
        if isinstance(a, Tensor):
            parts.append(f"{a._data.dtype}{list(a._data.shape)}")
        elif isinstance(a, np.ndarray):
            parts.append(f"{a.dtype}{list(a.shape)}")
        else:
            parts.append(repr(a))
    return ", ".join(parts)


def meta(a):
    """(shape, dtype) of an argument as the rules see it."""
    if isinstance(a, Tensor):
        return a._data.shape, a._data.dtype
    if isinstance(a, np.ndarray):
        return a.shape, a.dtype
    return (), type(a)


def _failure(op, args, attrs, exc: Exception) -> EmberError:
    """The error to raise when ``op.forward`` failed: the rules' explanation if they have one."""
    if isinstance(exc, EmberError):
        return _prefixed(op, exc)
    metas = [meta(a) for a in args]
    try:
        op.shape(*[m[0] for m in metas], **attrs)
        op.dtype(*[m[1] for m in metas], **attrs)
    except EmberError as rule_error:
        return _prefixed(op, rule_error)
    except Exception:  # noqa: BLE001 - a rule that cannot even run falls back to NumPy's words
        pass
    kind = {IndexError: EmberIndexError, TypeError: DTypeError}.get(type(exc), ShapeError)
    return kind(f"{op.name}: {exc} (inputs: {describe(args)})")


def verify_rules(op, args, attrs, out: np.ndarray) -> None:
    """Assert that the op's shape and dtype rules predict ``out`` (harness mode)."""
    metas = [meta(a) for a in args]
    shape = tuple(op.shape(*[m[0] for m in metas], **attrs))
    dtype = np.dtype(op.dtype(*[m[1] for m in metas], **attrs))
    if shape != out.shape or dtype != out.dtype:
        raise AssertionError(
            f"{op.name}: rules give {dtype}{list(shape)} but forward gave "
            f"{out.dtype}{list(out.shape)} for inputs {describe(args)} attrs {attrs}"
        )


def _prefixed(op, err: EmberError) -> EmberError:
    msg = str(err)
    if msg.startswith(op.name + ":"):
        return err
    return type(err)(f"{op.name}: {msg}")


# The C dispatcher (ember/native/dispatch.c) takes apply's common case and hands every other
# call to the Python apply above; without a compiler the Python apply runs alone.
python_apply = apply
apply = (
    native_dispatch.fast_apply(
        python_apply, _record, _as_view, Tensor, registry.Op, _tracer, check_rules, _enabled
    )
    or python_apply
)


def install() -> None:
    registry._tensor_type[0] = Tensor
    registry._dispatch[0] = apply
    registry.grad_enabled = _enabled


install()
