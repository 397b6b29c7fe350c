"""Algebraic simplification: the rewrites that must happen, and the look-alikes that must not
(broadcasting, promotion, signed zeros, x * 0, non-identity permutes). Every graph is run
before and after the pass and compared bitwise (random inputs include -0.0, inf and NaN)."""

import numpy as np
import pytest

from ember.core.source import SourceLocation
from ember.ir import Graph
from ember.passes.dce import dce
from ember.passes.simplify import simplify
from tests.passes.graphcheck import check_pass, ops

F32, I64 = np.float32, np.int64


def _unary(dtype, shape, op, other, swap=False):
    """``op(x, other)`` (or ``op(other, x)``) returned alone; ``other`` a literal or array."""
    g = Graph()
    x = g.add_input(dtype, shape, "x")
    if isinstance(other, np.ndarray):
        other = g.add_const(other)
    ins = [other, x] if swap else [x, other]
    g.outputs = [g.add_node(op, ins).outputs[0]]
    return g


@pytest.mark.parametrize(
    "dtype,op,other,swap",
    [
        (F32, "mul", 1.0, False),
        (F32, "mul", 1, True),
        (I64, "mul", 1, False),
        (np.bool_, "mul", True, False),
        (F32, "mul", np.ones((2, 3), F32), False),
        (F32, "mul", np.ones((3,), F32), True),
        (F32, "div", 1.0, False),
        (F32, "div", np.ones((1, 3), F32), False),
        (I64, "add", 0, False),
        (I64, "add", 0, True),
        (F32, "add", -0.0, False),
        (F32, "add", np.full((3,), -0.0, F32), True),
        (F32, "sub", 0.0, False),
        (F32, "sub", 0, False),
        (I64, "sub", np.zeros((2, 3), I64), False),
    ],
)
def test_identity_arithmetic_returns_x(dtype, op, other, swap):
    g = _unary(dtype, (2, 3), op, other, swap)
    s = check_pass(simplify, g)
    assert ops(s) == [] and s.outputs[0] is s.inputs[0]


@pytest.mark.parametrize(
    "dtype,op,other,swap,why",
    [
        (I64, "mul", 1.0, False, "int * 1.0 promotes to float"),
        (F32, "mul", np.ones((4, 2, 3), F32), False, "broadcasts x to a bigger shape"),
        (F32, "mul", np.ones((3,), np.float64), False, "promotes to float64"),
        (F32, "mul", 0.0, False, "x * 0 is NaN for inf and NaN"),
        (F32, "mul", np.array([1.0, 1.0, 2.0], F32), False, "not all ones"),
        (I64, "div", 1, False, "int / 1 is float"),
        (F32, "div", 1.0, True, "1 / x"),
        (F32, "add", 0.0, False, "-0.0 + 0.0 is 0.0"),
        (F32, "add", 0, True, "0 + -0.0 is 0.0"),
        (F32, "add", np.zeros((3,), F32), False, "+0.0 constant"),
        (I64, "add", 0.0, False, "int + 0.0 promotes to float"),
        (F32, "sub", -0.0, False, "-0.0 - -0.0 is 0.0"),
        (F32, "sub", 0.0, True, "0 - x is not -x (0 - 0.0 is 0.0)"),
        (I64, "sub", 0, True, "0 - x"),
    ],
)
def test_lookalike_arithmetic_is_kept(dtype, op, other, swap, why):
    g = _unary(dtype, (2, 3), op, other, swap)
    s = check_pass(simplify, g)
    assert ops(s) == [op], why


def test_add_zero_would_change_the_sign_of_negative_zero():
    # why the float rule above is right: NumPy really turns -0.0 into 0.0
    assert not np.signbit(np.float32(-0.0) + np.float32(0.0))
    assert np.signbit(np.float32(-0.0) - np.float32(0.0))


def test_neg_neg_cancels_and_odd_chains_keep_one_neg():
    g = Graph()
    x = g.add_input(F32, (4,), "x")
    v, outs = x, []
    for _ in range(3):
        v = g.add_node("neg", [v]).outputs[0]
        outs.append(v)
    g.outputs = outs
    s = check_pass(simplify, g)
    assert s.outputs[1] is s.inputs[0]
    third = s.outputs[2].producer  # neg(x) again: merging it with the first is CSE's job
    assert third.op == "neg" and third.inputs[0] is s.inputs[0]


@pytest.mark.parametrize("dtype,keeps", [(np.dtype(F32), False), (F32, False), (np.float64, True)])
def test_cast_to_own_dtype_is_dropped(dtype, keeps):
    g = Graph()
    x = g.add_input(F32, (3,), "x")
    g.outputs = [g.add_node("cast", [x], {"dtype": dtype}).outputs[0]]
    s = check_pass(simplify, g)
    assert ops(s) == (["cast"] if keeps else [])


def _permutes(shape, *perms, loc=None):
    g = Graph()
    v = g.add_input(F32, shape, "x")
    for p in perms:
        v = g.add_node("permute", [v], {"dims": p}, loc=loc).outputs[0]
    g.outputs = [v]
    return g


def test_double_transpose_cancels():
    s = check_pass(simplify, _permutes((2, 3), (1, 0), (1, 0)))
    assert s.outputs[0] is s.inputs[0]


def test_identity_permute_is_dropped():
    s = check_pass(simplify, _permutes((2, 3, 4), (0, 1, 2)))
    assert ops(s) == []


def test_two_permutes_compose_into_one_with_numpys_order():
    loc = SourceLocation("model.py", 7, "forward")
    g = _permutes((2, 3, 4), (0, 2, 1), (2, 0, 1), loc=loc)
    s = check_pass(simplify, g)
    last = s.outputs[0].producer
    assert last.inputs[0] is s.inputs[0] and last.loc == loc
    x = np.arange(24).reshape(2, 3, 4)
    want = np.transpose(np.transpose(x, (0, 2, 1)), (2, 0, 1))
    np.testing.assert_array_equal(np.transpose(x, last.attrs["dims"]), want)


def test_non_identity_compositions_are_kept():
    s = check_pass(simplify, _permutes((2, 3, 4), (1, 0, 2), (0, 2, 1)))
    assert s.outputs[0].producer.op == "permute"
    assert s.outputs[0].producer.attrs["dims"] != (0, 1, 2)


def test_three_transposes_leave_one():
    s = check_pass(simplify, _permutes((2, 3), (1, 0), (1, 0), (1, 0)))
    p = s.outputs[0].producer
    assert p.op == "permute" and p.inputs[0] is s.inputs[0] and p.attrs["dims"] == (1, 0)


def _reshapes(shape, *shapes):
    g = Graph()
    v = g.add_input(F32, shape, "x")
    for s in shapes:
        v = g.add_node("reshape", [v], {"shape": s}).outputs[0]
    g.outputs = [v]
    return g


def test_reshape_to_own_shape_is_dropped():
    s = check_pass(simplify, _reshapes((8, 4), (8, 4)))
    assert s.outputs[0] is s.inputs[0]


def test_reshape_chain_becomes_one_reshape():
    s = check_pass(simplify, _reshapes((2, 3, 4), (6, 4), (4, -1), (3, 8)))
    p = s.outputs[0].producer
    assert p.op == "reshape" and p.inputs[0] is s.inputs[0] and s.outputs[0].shape == (3, 8)


def test_reshape_chain_back_to_the_start_is_x():
    s = check_pass(simplify, _reshapes((2, 3), (6,), (3, 2), (2, 3)))
    assert s.outputs[0] is s.inputs[0]


def test_reshape_chain_stays_when_the_inner_reshape_has_another_reader():
    # the inner reshape of a non-contiguous value copies it once; merging the outer one
    # into a reshape of the source would copy it again
    g = Graph()
    x = g.add_input(np.float32, (4, 3, 2), "x")
    t = g.add_node("permute", [x], {"dims": (1, 0, 2)}).outputs[0]
    inner = g.add_node("reshape", [t], {"shape": (3, 8)}).outputs[0]
    outer = g.add_node("reshape", [inner], {"shape": (24,)}).outputs[0]
    g.outputs = [g.add_node("neg", [inner]).outputs[0], outer]
    s = check_pass(simplify, g)
    assert ops(s) == ["permute", "reshape", "reshape", "neg"]
    assert s.outputs[1].producer.inputs[0].producer.op == "reshape"


def test_reshape_of_a_permute_is_not_merged():
    g = Graph()
    x = g.add_input(F32, (2, 3), "x")
    t = g.add_node("permute", [x], {"dims": (1, 0)}).outputs[0]
    g.outputs = [g.add_node("reshape", [t], {"shape": (6,)}).outputs[0]]
    assert ops(check_pass(simplify, g)) == ["permute", "reshape"]


def test_expand_to_own_shape_only():
    g = Graph()
    x = g.add_input(F32, (1, 3), "x")
    a = g.add_node("expand", [x], {"shape": (1, 3)}).outputs[0]
    b = g.add_node("expand", [x], {"shape": (4, 3)}).outputs[0]
    g.outputs = [a, b]
    s = check_pass(simplify, g)
    assert s.outputs[0] is s.inputs[0] and ops(s) == ["expand"]


def test_readers_of_a_removed_node_read_its_input_and_outputs_keep_positions():
    g = Graph()
    x = g.add_input(F32, (3,), "x")
    y = g.add_input(F32, (3,), "y")
    a = g.add_node("mul", [x, 1.0]).outputs[0]
    b = g.add_node("add", [a, y]).outputs[0]
    g.outputs = [b, a, y, a]
    s = check_pass(simplify, g)
    assert ops(s) == ["add"] and s.nodes[0].inputs[0] is s.inputs[0]
    assert s.outputs[1] is s.inputs[0] and s.outputs[3] is s.inputs[0]
    assert s.outputs[2] is s.inputs[1]


def _padded_sum(pieces, dim=1, size=9, dtype=F32, fill=0):
    """The sum of zero-padded slabs of dim ``dim``: ``pieces`` are (start, length) pairs."""
    g = Graph()
    total = None
    for k, (start, length) in enumerate(pieces):
        shape = (2, 3, 4)[:dim] + (length,) + (2, 3, 4)[dim + 1 :]
        x = g.add_input(dtype, shape, f"x{k}")
        pad = [(0, 0)] * 3
        pad[dim] = (start, size - start - length)
        attrs = {"pad": tuple(pad), "mode": "constant", "value": fill}
        p = g.add_node("pad", [x], attrs).outputs[0]
        total = p if total is None else g.add_node("add", [total, p]).outputs[0]
    g.outputs = [total]
    return g


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_sum_of_chunk_gradients_becomes_one_slab_sum(dim):
    # the backward of a chunk into three: pads of each piece's gradient, added in any order
    g = _padded_sum([(6, 3), (0, 2), (2, 4)], dim=dim)
    s = check_pass(simplify, g)  # bitwise, -0.0 + 0 included
    assert ops(dce(s)) == ["slab_sum"]
    node = s.outputs[0].producer
    assert node.attrs == {"dim": dim, "starts": (0, 2, 6), "size": 9}
    assert node.inputs == [s.inputs[1], s.inputs[2], s.inputs[0]]


def test_slabs_with_gaps_leave_zeros():
    s = check_pass(simplify, _padded_sum([(1, 2), (5, 3)]))
    assert "slab_sum" in ops(s)


@pytest.mark.parametrize(
    "pieces,dtype,fill,why",
    [
        ([(0, 3), (2, 3)], F32, 0, "overlapping slabs really add"),
        ([(0, 3), (3, 3)], F32, -0.0, "piece + (-0.0) keeps -0.0"),
        ([(0, 3), (3, 3)], I64, 0, "only floats"),
    ],
)
def test_lookalike_slab_sums_are_kept(pieces, dtype, fill, why):
    s = check_pass(simplify, _padded_sum(pieces, dtype=dtype, fill=fill))
    assert "slab_sum" not in ops(s), why


def test_pads_of_two_dims_are_not_slabs():
    g = Graph()
    a = g.add_input(F32, (2, 3), "a")
    b = g.add_input(F32, (3, 2), "b")
    pa = g.add_node("pad", [a], {"pad": ((0, 1), (0, 0)), "mode": "constant", "value": 0})
    pb = g.add_node("pad", [b], {"pad": ((0, 0), (1, 0)), "mode": "constant", "value": 0})
    g.outputs = [g.add_node("add", [pa.outputs[0], pb.outputs[0]]).outputs[0]]
    assert "slab_sum" not in ops(check_pass(simplify, g))
