"""``optimizer.step()`` inside ``ember.compile``: the same update code, recorded as ops.

Eager steps update NumPy arrays in place. Under a tracer the update runs on Tensors instead
(under ``no_grad``), so every arithmetic op lands in the graph, and the optimizer's state is
wired in as live graph inputs with write-backs:

* each state array (``exp_avg`` ...) is read from ``optimizer.state`` at every call and the
  new value copied back into it, so ``state_dict`` / ``load_state_dict`` keep working;
* the step count is a 0-d float64 input (its Python float is read and written back), so
  bias corrections are computed per call, not baked in;
* every group's learning rate is an input too (schedulers change it between calls); the
  other hyper-parameters are guards: changing one retraces.

A step that creates state (the first) records a graph later steps cannot reuse, so that
trace is not cached.
"""

from __future__ import annotations

import numpy as np

from ember.core.grad_mode import no_grad
from ember.core.tensor import Tensor, _wrap


def traced_step(opt, tracer) -> None:
    for gi, group in enumerate(opt.param_groups):
        tracer.guards.append((_hyper(group), _hyper(group)()))
        tracer.guards.append((_state_keys(opt, group), _state_keys(opt, group)()))
        lr = _scalar_input(tracer, lambda g=group: g["lr"], _setter(group, "lr"), f"lr{gi}")
        view = dict(group, lr=lr)
        for p in group["params"]:
            tracer.read_grad(p)
            if p._grad is None:
                continue
            grad = p._grad.detach()
            if group.get("maximize"):
                grad = -grad
            if p not in opt.state:
                tracer.unstable = True
            state = opt.state.setdefault(p, {})
            name = tracer.names.get(id(p), f"p{len(tracer.captures)}")
            proxy = _proxy(tracer, opt, p, name)
            keys = set(state)
            with no_grad():
                opt._update(view, p, grad, proxy)
            if set(proxy) != keys:
                tracer.unstable = True
            _store(state, proxy)


def _hyper(group):
    """The group's hyper-parameters other than ``lr`` (and the parameters)."""
    keys = [k for k in group if k not in ("params", "lr")]
    return lambda: tuple([_freeze(v) if type(v) is list else v for v in map(group.get, keys)])


def _state_keys(opt, group):
    """Which state entries each parameter has (a reloaded state may lack some)."""
    params = group["params"]

    def keys():
        get = opt.state.get  # (load_state_dict may replace the dict)
        return tuple([None if s is None else tuple(s) for s in map(get, params)])

    return keys


def _freeze(v):
    return tuple(v) if isinstance(v, list) else v


def _setter(d, key):
    def set_(a):
        d[key] = float(a)

    return set_


def _scalar_input(tracer, get, set_, name) -> Tensor:
    """A Python float read (and written back) at every call, as a 0-d float64 tensor."""
    arr = np.array(get(), np.float64)
    t = _wrap(arr)
    tracer.capture(arr, get=lambda: np.array(get(), np.float64), set=set_, name=name)
    return t


def _proxy(tracer, opt, p, name: str) -> dict:
    """``opt.state[p]`` as Tensors bound to graph inputs that read and write it (looked up
    through ``opt`` at every call: ``load_state_dict`` replaces the dicts)."""
    proxy = {}
    for k, v in opt.state[p].items():
        get = _getter(opt, p, k)
        if isinstance(v, np.ndarray):
            tracer.capture(v, get=get, set=_copier(opt, p, k), name=f"{name}.{k}")
            proxy[k] = _wrap(v)
        elif isinstance(v, float):
            proxy[k] = _scalar_input(tracer, get, _state_setter(opt, p, k), f"{name}.{k}")
        else:
            proxy[k] = v
    return proxy


def _getter(opt, p, k):
    return lambda: opt.state[p][k]


def _copier(opt, p, k):
    def set_(a):
        np.copyto(opt.state[p][k], a)

    return set_


def _state_setter(opt, p, k):
    def set_(a):
        opt.state[p][k] = float(a)

    return set_


def _store(state: dict, proxy: dict) -> None:
    """Eager mode's results of the traced update, back into the optimizer's state."""
    for k, v in proxy.items():
        if isinstance(v, Tensor):
            old = state.get(k)
            if isinstance(old, float) or (old is None and v._data.ndim == 0):
                state[k] = float(v._data)
            elif old is None or old is not v._data:
                state[k] = v._data
        else:
            state[k] = v
