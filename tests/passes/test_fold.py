"""Constant folding: all-constant nodes become constants holding the bits the node computes;
nodes reading inputs, oversized broadcasts and failing nodes stay. End to end, a frozen
model's weight-only subgraph folds and the compiled model still matches eager bitwise."""

import numpy as np
import pytest

import ember
from ember import nn
from ember.ir import ExecutionError, Graph, run_graph
from ember.passes.fold import SMALL_BYTES, fold
from tests.passes.graphcheck import assert_bitwise, check_pass, ops

F32 = np.float32
RNG = np.random.default_rng(0)


def test_constant_chain_folds_into_one_constant():
    g = Graph()
    x = g.add_input(F32, (3,), "x")
    w = g.add_const(RNG.standard_normal(3).astype(F32), "w")
    a = g.add_node("mul", [w, 3.0]).outputs[0]
    b = g.add_node("exp", [a]).outputs[0]
    g.outputs = [g.add_node("add", [x, b]).outputs[0]]
    s = check_pass(fold, g)
    assert ops(s) == ["add"] and s.nodes[0].inputs[1].is_const
    assert_bitwise(s.nodes[0].inputs[1].const, np.exp(w.const * 3.0))
    assert [c.name for c in s.constants] == [s.nodes[0].inputs[1].name]  # w is no longer read


def test_transposed_weight_folds_and_matmul_stays_bitwise():
    g = Graph()
    x = g.add_input(F32, (7, 33), "x")
    w = g.add_const(RNG.standard_normal((19, 33)).astype(F32), "w")
    t = g.add_node("permute", [w], {"dims": (1, 0)}).outputs[0]
    g.outputs = [g.add_node("matmul", [x, t]).outputs[0]]
    s = check_pass(fold, g)
    assert ops(s) == ["matmul"]
    folded = s.nodes[0].inputs[1].const
    # the transpose keeps its strides, so the matmul sees the layout it saw before folding
    assert folded.strides == np.transpose(w.const).strides


def test_nodes_reading_an_input_are_not_folded():
    g = Graph()
    x = g.add_input(F32, (3,), "x")
    c = g.add_const(np.ones(3, F32))
    g.outputs = [g.add_node("add", [x, c]).outputs[0]]
    assert ops(check_pass(fold, g)) == ["add"]


def test_a_graph_output_may_become_a_constant():
    g = Graph()
    x = g.add_input(F32, (2,), "x")
    c = g.add_const(np.array([1.0, 4.0], F32))
    g.outputs = [g.add_node("sqrt", [c]).outputs[0], x]
    s = check_pass(fold, g)
    assert ops(s) == [] and s.outputs[0].is_const and s.outputs[1] is s.inputs[0]


@pytest.mark.parametrize(
    "shape,folds",
    [((16, 16), True), ((300, 300), False)],  # 1 KiB folds; 351 KiB from 4 bytes does not
)
def test_big_broadcasts_are_not_folded(shape, folds):
    g = Graph()
    x = g.add_input(F32, shape, "x")
    c = g.add_const(np.array([2.0], F32))
    e = g.add_node("expand", [c], {"shape": shape}).outputs[0]
    g.outputs = [g.add_node("mul", [x, e]).outputs[0]]
    s = check_pass(fold, g)
    assert ops(s) == (["mul"] if folds else ["expand", "mul"])


def test_big_results_fold_when_they_do_not_grow():
    n = 200  # 160 KiB of float32: above SMALL_BYTES, but a cast to float64 only doubles it
    assert n * n * 4 > SMALL_BYTES
    g = Graph()
    x = g.add_input(np.float64, (n, n), "x")
    c = g.add_const(RNG.standard_normal((n, n)).astype(F32))
    d = g.add_node("cast", [c], {"dtype": np.dtype(np.float64)}).outputs[0]
    g.outputs = [g.add_node("add", [x, d]).outputs[0]]
    assert ops(check_pass(fold, g, seeds=(0,))) == ["add"]


def test_a_node_whose_forward_raises_stays_and_fails_at_run_time():
    g = Graph()
    x = g.add_input(np.int64, (2,), "x")
    a = g.add_const(np.array([4, 6]))
    z = g.add_const(np.array([2, 0]))
    q = g.add_node("floor_divide", [a, z]).outputs[0]
    g.outputs = [g.add_node("add", [x, q]).outputs[0]]
    s = fold(g)
    assert ops(s) == ["floor_divide", "add"]
    with pytest.raises(ExecutionError, match="floor_divide"):
        run_graph(s, [np.zeros(2, np.int64)])


def test_a_result_of_another_type_than_declared_is_not_folded():
    g = Graph()
    c = g.add_const(np.array([1, 2], np.int64))
    # declared int64 by its rule, but NumPy's true division gives float64
    g.outputs = [g.add_node("div", [c, 1]).outputs[0]]
    s = fold(g)
    assert ops(s) == ["div"]


def test_folding_does_not_mutate_or_share_the_input_graph():
    g = Graph()
    c = g.add_const(np.arange(3, dtype=F32))
    g.outputs = [g.add_node("neg", [c]).outputs[0]]
    s = fold(g)
    assert ops(g) == ["neg"] and ops(s) == [] and len(g.constants) == 1
    assert_bitwise(run_graph(s, [])[0], -np.arange(3, dtype=F32))


class _WeightOnly(nn.Module):
    """A layer whose forward transposes and rescales its weights: weight-only subgraphs."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(5, 3)
        self.w = nn.Parameter(ember.randn(4, 3))
        self.scale = nn.Parameter(ember.randn(4))

    def forward(self, x):
        return self.lin(x).tanh() @ self.w.t() * self.scale.exp()


def test_frozen_model_folds_weight_subgraphs_and_matches_eager_bitwise():
    ember.manual_seed(0)
    model = _WeightOnly().eval()
    frozen = ember.compile(model, freeze=True, disable=("fuse", "memory"))
    live = ember.compile(model, disable=("fuse", "memory"))
    with ember.no_grad():
        for seed in range(3):
            x = ember.tensor(np.random.default_rng(seed).standard_normal((6, 5)).astype(F32))
            want = model(x).numpy()
            assert_bitwise(frozen(x).numpy(), want)
            assert_bitwise(live(x).numpy(), want)
        n_frozen = len(frozen.graph(x).nodes)
        n_live = len(live.graph(x).nodes)
    assert n_live == 6 and n_frozen == 4  # permute(w) and exp(scale) became constants
