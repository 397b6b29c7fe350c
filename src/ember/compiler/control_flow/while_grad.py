"""The gradient of a traced ``while_loop``, built from while_loops.

Reverse mode needs the carry before each trip, in reverse order, but the forward node keeps
only the final carry (its trip count is data-dependent, so a graph value cannot hold the
history). The backward therefore (1) runs the loop again counting its trips n, then (2) for
k = n-1 .. 0 recomputes the carry after k trips from the initial carry and pulls the
cotangent back through one body step. That is O(n^2) body evaluations and O(1) extra
memory: cheap for the short loops (Newton steps, fixed-point iterations) while_loop is
meant for; use ``ember.scan`` for long differentiable loops.
"""

from __future__ import annotations

from ember.compiler.control_flow.grad import is_float, vjp_call
from ember.compiler.control_flow.subgraph import replay
from ember.core.creation import tensor, zeros_like


def while_rule(g_cond, g_body, n: int):
    """The backward rule of a while_loop node over ``n`` carried values (see module doc)."""

    def rule(inputs, cts):
        from ember.compiler.control_flow.while_loop import while_loop

        carried, caps = list(inputs[:n]), list(inputs[n:])
        fc = [i for i in range(n) if is_float(carried[i])]
        fcap = [j for j, t in enumerate(caps) if is_float(t)]
        if not fc and not fcap:
            return [None] * len(inputs)

        def body(*c):
            return replay(g_body, [*c, *caps])

        def counted(k, *c):
            return (k + 1, *body(*c))

        trips = while_loop(
            lambda k, *c: replay(g_cond, [*c, *caps])[0], counted, (tensor(0), *carried)
        )[0]

        def step(k, *state):
            k = k - 1
            c = while_loop(lambda j, *c: j < k, counted, (tensor(0), *carried))[1:]
            diff_in = fc + [n + j for j in fcap]
            gs = vjp_call(_graph(g_body), [*c, *caps], diff_in, fc, state[: len(fc)])
            acc = [a + g for a, g in zip(state[len(fc) :], gs[len(fc) :])]
            return (k, *gs[: len(fc)], *acc)

        init = (trips, *(cts[i] for i in fc), *(zeros_like(caps[j]) for j in fcap))
        final = while_loop(lambda k, *s: k > 0, step, init)
        grads = [None] * len(inputs)
        for i, g in zip(fc, final[1 : 1 + len(fc)]):
            grads[i] = g
        for j, g in zip(fcap, final[1 + len(fc) :]):
            grads[n + j] = g
        return grads

    return rule


def _graph(g):
    return lambda *a: replay(g, list(a))
