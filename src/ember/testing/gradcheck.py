"""Gradient checks by central differences in float64 along random directions.

For random directions ``v`` (inputs) and ``u`` (outputs) the autograd value
``sum_i <grad_i(u), v_i>`` must match ``(<u, f(x + eps v)> - <u, f(x - eps v)>) / 2 eps``.
Checking directional derivatives costs two forward evaluations per direction, whatever the
input size, and catches the same bugs as a full Jacobian comparison with high probability.
"""

from __future__ import annotations

import numpy as np

from ember.core.autograd import grad as autograd_grad
from ember.core.tensor import Tensor, _wrap


class GradcheckError(AssertionError):
    """Analytic and numeric derivatives disagree."""


def _outputs(res) -> list:
    res = res if isinstance(res, (tuple, list)) else (res,)
    return [r for r in res if isinstance(r, Tensor) and r._data.dtype.kind == "f"]


def _diff_inputs(inputs):
    return [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]


def _check_float64(inputs, where):
    for x in inputs:
        if isinstance(x, Tensor) and x.requires_grad and x._data.dtype != np.float64:
            raise GradcheckError(
                f"{where}: inputs that require grad must be float64, got {x.dtype}"
            )


def gradcheck(
    fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, n_directions=3, seed=0, raise_exception=True
):
    """Check first derivatives of ``fn(*inputs)`` for every input with ``requires_grad``."""
    inputs = tuple(inputs)
    _check_float64(inputs, "gradcheck")
    diff = _diff_inputs(inputs)
    if not diff:
        raise GradcheckError("gradcheck: no input requires grad")
    rng = np.random.default_rng(seed)
    outs = _outputs(fn(*inputs))
    if not outs:
        raise GradcheckError("gradcheck: fn returned no floating-point output")
    for k in range(n_directions):
        vs = {i: rng.standard_normal(inputs[i].shape) for i in diff}
        us = [rng.standard_normal(o.shape) for o in outs]
        outs = _outputs(fn(*inputs))
        live = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
        analytic = 0.0
        if live:  # outputs that do not require grad are constant: they add nothing
            grads = autograd_grad(
                [o for o, _ in live],
                [inputs[i] for i in diff],
                [_wrap(u) for _, u in live],
                allow_unused=True,
                retain_graph=True,
            )
            analytic = sum(
                float(np.sum(g._data * vs[i])) for g, i in zip(grads, diff) if g is not None
            )
        numeric = (_probe(fn, inputs, vs, us, eps) - _probe(fn, inputs, vs, us, -eps)) / (2 * eps)
        if not abs(analytic - numeric) <= atol + rtol * abs(numeric):
            if not raise_exception:
                return False
            raise GradcheckError(
                f"gradcheck: direction {k}: autograd gives {analytic:.10g}, central "
                f"differences give {numeric:.10g} (inputs {list(diff)}, shapes "
                f"{[tuple(inputs[i].shape) for i in diff]})"
            )
    return True


def _probe(fn, inputs, vs, us, eps) -> float:
    moved = list(inputs)
    for i, v in vs.items():
        # still requiring grad: fn may differentiate internally (gradgradcheck)
        moved[i] = _wrap(inputs[i]._data + eps * v).requires_grad_()
    outs = _outputs(fn(*moved))
    return float(sum(np.sum(o._data * u) for o, u in zip(outs, us)))


def gradgradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, n_directions=3, seed=0):
    """Check second derivatives: gradcheck of the map (inputs, u) -> VJP(u) built with
    ``create_graph=True``."""
    inputs = tuple(inputs)
    _check_float64(inputs, "gradgradcheck")
    diff = _diff_inputs(inputs)
    rng = np.random.default_rng(seed + 1)
    outs = _outputs(fn(*inputs))
    us = [_wrap(rng.standard_normal(o.shape)).requires_grad_() for o in outs]
    n = len(inputs)

    def first_derivative(*args):
        xs, u = args[:n], args[n:]
        # outputs that do not require grad are constants: no first derivative to check
        live = [(o, ui) for o, ui in zip(_outputs(fn(*xs)), u) if o.requires_grad]
        if not live:
            return ()
        res = autograd_grad(
            [o for o, _ in live],
            [xs[i] for i in diff],
            [ui for _, ui in live],
            create_graph=True,
            allow_unused=True,
        )
        return tuple(g for g in res if g is not None)

    return gradcheck(
        first_derivative,
        inputs + tuple(us),
        eps=eps,
        atol=atol,
        rtol=rtol,
        n_directions=n_directions,
        seed=seed,
    )
