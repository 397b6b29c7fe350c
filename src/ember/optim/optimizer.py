"""``Optimizer``: parameter groups, per-parameter state and (de)serialisable state dicts.

Updates run as in-place NumPy operations on the parameters' storage (no autograd graph, no
temporary Tensors), in the same order of floating-point operations as PyTorch's single-tensor
implementations, so trajectories match PyTorch's to rounding.
"""

from __future__ import annotations

import copy

import numpy as np

from ember.core import trace_hooks
from ember.core.tensor import Tensor, _wrap
from ember.errors import EmberError


class Optimizer:
    """Base class. Subclasses define ``defaults`` and ``_update(group, p, grad, state)``."""

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.state: dict = {}
        self.param_groups: list[dict] = []
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group: dict) -> None:
        group = dict(group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: can only optimize Tensors, got {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf Tensor")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._check(group)
        self.param_groups.append(group)

    def _check(self, group: dict) -> None:
        if group.get("lr", 0) < 0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate {group['lr']}")

    def zero_grad(self, set_to_none: bool = True) -> None:
        tracer = trace_hooks.tracer[0]
        for g in self.param_groups:
            for p in g["params"]:
                if tracer is not None:
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

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            from ember.core.grad_mode import enable_grad

            with enable_grad():
                loss = closure()
        tracer = trace_hooks.tracer[0]
        if tracer is not None:
            from ember.optim.traced import traced_step

            traced_step(self, tracer)
            return loss
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None:
                    continue
                grad = p._grad._data
                if group.get("maximize"):
                    grad = -grad
                state = self.state.setdefault(p, {})
                self._update(group, p._data, grad, state)
                p._vc[0] += 1
        return loss

    def _update(self, group, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        raise NotImplementedError

    def _scratch(self, like: np.ndarray) -> np.ndarray:
        """A work array of ``like``'s shape and dtype, reused across parameters and steps
        (not state: it holds nothing between uses)."""
        cache = self.__dict__.setdefault("_scratch_arrays", {})
        key = (like.shape, like.dtype)
        buf = cache.get(key)
        if buf is None:
            buf = cache[key] = np.empty(like.shape, like.dtype)
        return buf

    # ---- serialisation (PyTorch's layout: params by index) ------------------------------------

    def state_dict(self) -> dict:
        index = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for g in self.param_groups:
            for p in g["params"]:
                if p in self.state:
                    state[index[id(p)]] = {
                        k: (_wrap(v.copy()) if isinstance(v, np.ndarray) else v)
                        for k, v in self.state[p].items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise OptimizerStateError(
                f"load_state_dict: the state has {len(groups)} parameter groups, the optimizer "
                f"{len(self.param_groups)}"
            )
        by_index = {}
        for mine, theirs in zip(self.param_groups, groups):
            if len(mine["params"]) != len(theirs["params"]):
                raise OptimizerStateError(
                    f"load_state_dict: a parameter group has {len(theirs['params'])} parameters "
                    f"in the state but {len(mine['params'])} in the optimizer"
                )
            for p, i in zip(mine["params"], theirs["params"]):
                by_index[int(i)] = p
            for k, v in theirs.items():
                if k != "params":
                    mine[k] = copy.deepcopy(v)
        self.state = {}
        for i, s in state_dict["state"].items():
            p = by_index.get(int(i))
            if p is None:
                raise OptimizerStateError(f"load_state_dict: state for unknown parameter index {i}")
            self.state[p] = {k: _load_value(k, v, p) for k, v in s.items()}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


class OptimizerStateError(EmberError, ValueError):
    """An optimizer state dict that does not fit the optimizer."""


def _load_value(key, v, p: Tensor):
    if isinstance(v, Tensor):
        v = v._data
    if isinstance(v, np.ndarray) and v.ndim > 0:
        if v.shape != p.shape:
            raise OptimizerStateError(
                f"load_state_dict: state {key!r} has shape {v.shape}, parameter has "
                f"{tuple(p.shape)}"
            )
        return v.astype(p._data.dtype, copy=True)
    if isinstance(v, np.ndarray):
        return v.item()
    return v
