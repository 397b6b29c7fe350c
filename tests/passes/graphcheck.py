"""Helpers for pass tests: run a graph before and after a pass and compare bitwise."""

import numpy as np

from ember.ir import run_graph
from ember.ir.verify import verify


def random_inputs(graph, seed=0):
    """Random arrays for the graph's inputs (with -0.0, inf and NaN among the floats, so
    rewrites that are wrong for IEEE specials show up)."""
    rng = np.random.default_rng(seed)
    out = []
    for v in graph.inputs:
        shape = tuple(v.shape)
        if v.dtype.kind == "f":
            a = rng.standard_normal(shape).astype(v.dtype)
            flat = a.reshape(-1)
            specials = np.array([-0.0, 0.0, np.inf, -np.inf, np.nan], v.dtype)[: flat.size]
            flat[: specials.size] = specials
        elif v.dtype.kind == "b":
            a = rng.integers(0, 2, shape).astype(bool)
        else:
            low = 0 if v.name == "seed" else -50  # seeds must be non-negative
            a = rng.integers(low, 50, shape).astype(v.dtype)
        out.append(a)
    return out


def assert_bitwise(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape, want)
    np.testing.assert_array_equal(got, want)
    assert got.tobytes() == want.tobytes(), "same values but different bits (signed zero?)"


def check_pass(pass_fn, graph, seeds=(0, 1)):
    """Apply ``pass_fn``; verify the result, check the input graph is unchanged, and compare
    both graphs' results bitwise on random inputs. Returns the new graph."""
    before = str(graph)
    new = pass_fn(graph)
    assert str(graph) == before, "the pass mutated its input graph"
    verify(new)
    assert [v.name for v in new.inputs] == [v.name for v in graph.inputs]
    assert len(new.outputs) == len(graph.outputs)
    for seed in seeds:
        xs = random_inputs(graph, seed)
        with np.errstate(all="ignore"):
            want = run_graph(graph, [x.copy() for x in xs])
            got = run_graph(new, [x.copy() for x in xs])
        for g, w in zip(got, want):
            assert_bitwise(g, w)
    return new


def ops(graph):
    return [n.op for n in graph.nodes]
