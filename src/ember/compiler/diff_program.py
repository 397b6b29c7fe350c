"""A program whose outputs join the caller's autograd graph (see ``autodiff``).

The forward graph runs as usual and also returns the saved values; one autograd node (an
``ember.autograd.Function``) connects the outputs to the differentiable inputs, and its
backward runs the backward graph on the saved values and the incoming gradients.
"""

from __future__ import annotations

import numpy as np

from ember.compiler.autodiff import targets_tensors
from ember.compiler.program import Program, execute
from ember.core import grad_mode
from ember.core.function import Function
from ember.core.tensor import _wrap
from ember.errors import AutogradError


class DiffProgram(Program):
    """``Program`` plus a backward graph; built by ``capture.trace``."""

    def __init__(self, *args, backward, n_saved, saved_inputs, **kwargs):
        super().__init__(*args, **kwargs)
        self.bt = backward  # the BackwardTrace
        self.bwd_graph = None  # set with the split
        self.bwd_optimized = None
        self.bwd_fn = None
        self.n_saved = n_saved
        self.saved_inputs = saved_inputs  # ("arg", i) or Capture whose array is saved

    def respecialized(self, graph, bwd_graph=None):
        p = DiffProgram(
            graph,
            list(self.all_captures),
            self.out_spec,
            self.writes,
            self.grads,
            self.guards,
            self.n_args,
            backward=self.bt,
            n_saved=self.n_saved,
            saved_inputs=self.saved_inputs,
        )
        p.bwd_graph = bwd_graph
        return p

    def run(self, leaves):
        outs = execute(self.optimized, self.fn, self.feed(leaves), self.debug)
        k = len(outs) - self.n_saved
        call = _Call(self, leaves, outs[k:])
        arrays = self.apply_effects(leaves, outs[:k])
        return self.finish_with(call, leaves, arrays)

    def finish_with(self, call, leaves, arrays):
        from ember.compiler.pytree import unflatten

        outputs = [_wrap(_own(a)) for a in arrays]
        inputs = targets_tensors(self.bt.targets, leaves)
        call.outputs = outputs
        joined = _GraphFunction.apply(call, *inputs)
        return unflatten(self.out_spec, list(joined))


class _Call:
    """One call's saved values and the versions of the saved inputs."""

    def __init__(self, program, leaves, saved):
        self.program = program
        self.saved = saved
        self.outputs = None
        self.watched = [
            t for t in targets_tensors_or_none(program.saved_inputs, leaves) if t is not None
        ]
        self.versions = [t._vc[0] for t in self.watched]

    def backward(self, grads):
        p = self.program
        if grad_mode._enabled[0]:
            raise AutogradError(
                f"backward: create_graph through the compiled function {p.graph.name} is not "
                "supported; compute higher-order gradients inside the compiled function "
                "(ember.autograd.grad(..., create_graph=True) there) or run it eagerly"
            )
        for t, v in zip(self.watched, self.versions):
            if t._vc[0] != v:
                raise AutogradError(
                    f"backward: a tensor of shape {tuple(t.shape)} that the compiled function "
                    f"{p.graph.name} saved for its gradient has been modified by an in-place "
                    f"operation (version {v} when saved, now {t._vc[0]})"
                )
        cts = []
        for k in p.bt.diff_outputs:
            g = grads[k]
            cts.append(g._data if g is not None else np.zeros_like(self.outputs[k]._data))
        outs = execute(p.bwd_optimized, p.bwd_fn, list(self.saved) + cts, p.debug_bwd)
        return tuple(None if g is None else _wrap(_own(g)) for g in outs)


def targets_tensors_or_none(targets, leaves):
    out = []
    for t in targets:
        if isinstance(t, tuple):
            out.append(leaves[t[1]])
        else:
            out.append(t.tensor)
    return out


class _GraphFunction(Function):
    @staticmethod
    def forward(ctx, call, *inputs):
        ctx.call = call
        diff = set(call.program.bt.diff_outputs)
        ctx.mark_non_differentiable(*[o for i, o in enumerate(call.outputs) if i not in diff])
        return tuple(call.outputs)

    @staticmethod
    def backward(ctx, *grads):
        return (None, *ctx.call.backward(grads))


def _own(a):
    return a if isinstance(a, np.ndarray) else np.asarray(a)
