"""Layer parity harness: an ember layer against its PyTorch twin with identical weights.

``run_layer_case`` builds both layers, copies PyTorch's state dict into ember's, and for the
train and eval modes compares the outputs, the gradients of the inputs and of every
parameter (by name), and the buffers after the forward (running statistics).

>>> import ember, torch
>>> case = LayerCase("linear", lambda: ember.nn.Linear(3, 2), lambda: torch.nn.Linear(3, 2),
...                  [(4, 3)])
>>> run_layer_case(case, "float64")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from ember.core.tensor import Tensor, _wrap
from ember.testing.compare import assert_close

_TOL = {"float32": (1e-4, 1e-5), "float64": (1e-10, 1e-12)}


@dataclasses.dataclass
class LayerCase:
    """``inputs`` lists input shapes (floats) or callables ``rng -> np.ndarray`` (e.g. ints);
    ``call`` adapts how the layer is called: ``call(layer, *inputs) -> output(s)``."""

    name: str
    ember: Callable
    torch: Callable
    inputs: list
    call: Callable | None = None
    modes: tuple = ("train", "eval")
    grad_inputs: bool = True
    tol: dict = dataclasses.field(default_factory=dict)


def _outputs(out) -> list:
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(_outputs(o))
        return res
    return [out] if out is not None else []


def _copy_weights(t_layer, e_layer, dtype) -> None:
    import torch

    state = {k: _wrap(v.detach().numpy().copy()) for k, v in t_layer.state_dict().items()}
    e_layer.load_state_dict(state)
    if dtype == "float64":
        t_layer.to(torch.float64)
        e_layer.double()


def run_layer_case(case: LayerCase, dtype: str, seed: int = 0) -> None:
    import torch

    torch.manual_seed(seed)
    t_layer = case.torch()
    e_layer = case.ember()
    _copy_weights(t_layer, e_layer, dtype)
    rtol, atol = case.tol.get(dtype, _TOL[dtype])
    rng = np.random.default_rng(seed)
    for mode in case.modes:
        t_layer.train(mode == "train")
        e_layer.train(mode == "train")
        arrays = [s(rng) if callable(s) else rng.standard_normal(s) for s in case.inputs]
        arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
        e_in = [
            _wrap(a.copy()).requires_grad_(case.grad_inputs) if a.dtype.kind == "f" else _wrap(a)
            for a in arrays
        ]
        t_in = [
            torch.from_numpy(a.copy()).requires_grad_(case.grad_inputs and a.dtype.kind == "f")
            for a in arrays
        ]
        call = case.call or (lambda layer, *xs: layer(*xs))
        e_out = [o for o in _outputs(call(e_layer, *e_in)) if isinstance(o, Tensor)]
        t_out = [o for o in _outputs(call(t_layer, *t_in)) if isinstance(o, torch.Tensor)]
        label = f"{case.name} {dtype} {mode}"
        assert len(e_out) == len(t_out), f"{label}: {len(e_out)} outputs vs {len(t_out)}"
        for i, (e, t) in enumerate(zip(e_out, t_out)):
            assert_close(e, t, rtol, atol, msg=f"{label} output {i}")
        _check_grads(e_layer, t_layer, e_in, t_in, e_out, t_out, rng, label, rtol, atol)
        for (name, eb), (_, tb) in zip(e_layer.named_buffers(), t_layer.named_buffers()):
            assert_close(eb, tb, rtol, atol, check_dtype=False, msg=f"{label} buffer {name}")


def _check_grads(e_layer, t_layer, e_in, t_in, e_out, t_out, rng, label, rtol, atol) -> None:
    import torch

    live = [(e, t) for e, t in zip(e_out, t_out) if t.requires_grad]
    if not live:
        return
    us = [rng.uniform(-1, 1, t.shape).astype(str(t.dtype).split(".")[1]) for _, t in live]
    e_loss = sum((e * _wrap(u)).sum() for (e, _), u in zip(live, us))
    t_loss = sum((t * torch.from_numpy(u)).sum() for (_, t), u in zip(live, us))
    e_layer.zero_grad()
    t_layer.zero_grad()
    e_loss.backward()
    t_loss.backward()
    for i, (e, t) in enumerate(zip(e_in, t_in)):
        if t.grad is not None:
            assert_close(e.grad, t.grad, rtol, atol, msg=f"{label} grad of input {i}")
    t_params = dict(t_layer.named_parameters())
    for name, p in e_layer.named_parameters():
        tg = t_params[name].grad
        if tg is None:
            assert p.grad is None or not np.any(p.grad.numpy()), f"{label}: {name} has a grad"
            continue
        assert p.grad is not None, f"{label}: no gradient for parameter {name}"
        assert_close(p.grad, tg, rtol, atol, msg=f"{label} grad of {name}")
