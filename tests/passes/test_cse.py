"""CSE: equal nodes and constants merge; nodes that differ in any input, literal (bool vs
int, 0.0 vs -0.0) or attribute (slices, lists, dtypes, arrays) stay apart. Every graph is run
before and after the pass and compared bitwise."""

import numpy as np
import pytest

from ember.ir import Graph
from ember.passes.cse import attr_key, cse
from tests.passes.graphcheck import check_pass, ops

F32 = np.float32


def _twice(dtype, shape, op, attrs_a, attrs_b=None, lit_a=(), lit_b=None):
    """Two ``op`` nodes on the same input, both returned."""
    g = Graph()
    x = g.add_input(dtype, shape, "x")
    a = g.add_node(op, [x, *lit_a], attrs_a).outputs[0]
    lit_b = lit_a if lit_b is None else lit_b
    b = g.add_node(op, [x, *lit_b], attrs_a if attrs_b is None else attrs_b).outputs[0]
    g.outputs = [a, b]
    return g


def test_equal_nodes_merge_and_their_readers_merge_too():
    g = Graph()
    x = g.add_input(F32, (3,), "x")
    a = g.add_node("mul", [x, 2.0]).outputs[0]
    b = g.add_node("mul", [x, 2.0]).outputs[0]
    ea = g.add_node("exp", [a]).outputs[0]
    eb = g.add_node("exp", [b]).outputs[0]
    g.outputs = [g.add_node("add", [ea, eb]).outputs[0], ea, eb]
    s = check_pass(cse, g)
    assert ops(s) == ["mul", "exp", "add"]
    assert s.outputs[1] is s.outputs[2] and s.nodes[2].inputs == [s.outputs[1]] * 2


def test_different_inputs_stay_apart():
    g = Graph()
    x, y = g.add_input(F32, (3,), "x"), g.add_input(F32, (3,), "y")
    g.outputs = [g.add_node("mul", [v, 2.0]).outputs[0] for v in (x, y)]
    assert ops(check_pass(cse, g)) == ["mul", "mul"]


def test_operand_order_matters():
    g = Graph()
    x, y = g.add_input(F32, (3,), "x"), g.add_input(F32, (3,), "y")
    g.outputs = [g.add_node("sub", [x, y]).outputs[0], g.add_node("sub", [y, x]).outputs[0]]
    assert ops(check_pass(cse, g)) == ["sub", "sub"]


@pytest.mark.parametrize(
    "lit_a,lit_b,dtype",
    [
        ((0.0,), (-0.0,), F32),  # differ on -0.0 inputs: -0.0 + 0.0 is 0.0
        ((True,), (1,), np.int64),  # equal in Python, different literals
        ((1,), (1.0,), np.int64),
        ((2.0,), (3.0,), F32),
    ],
)
def test_literals_that_differ_in_type_or_bits_stay_apart(lit_a, lit_b, dtype):
    g = _twice(dtype, (4,), "add", None, lit_a=lit_a, lit_b=lit_b)
    assert ops(check_pass(cse, g)) == ["add", "add"]


def test_nan_literals_with_the_same_bits_merge():
    g = _twice(F32, (4,), "mul", None, lit_a=(float("nan"),))
    assert ops(check_pass(cse, g)) == ["mul"]


@pytest.mark.parametrize(
    "a,b,merge",
    [
        ({"key": (slice(0, 2), 1)}, {"key": (slice(0, 2), 1)}, True),
        ({"key": (slice(0, 2), 1)}, {"key": (slice(0, 2, 1), 1)}, False),
        ({"key": (slice(0, 2), 1)}, {"key": (slice(1, 3), 1)}, False),
        ({"key": (Ellipsis, 0)}, {"key": (Ellipsis, 0)}, True),
        ({"key": (None, 0)}, {"key": (0, None)}, False),
    ],
)
def test_getitem_keys(a, b, merge):
    g = _twice(F32, (3, 4), "getitem", a, b)
    assert ops(check_pass(cse, g)) == (["getitem"] if merge else ["getitem", "getitem"])


@pytest.mark.parametrize(
    "a,b,merge",
    [
        ({"axis": (0,), "keepdims": False}, {"axis": (0,), "keepdims": False}, True),
        ({"axis": (0,), "keepdims": False}, {"axis": (1,), "keepdims": False}, False),
        ({"axis": (0,), "keepdims": True}, {"axis": (0,), "keepdims": False}, False),
        ({"keepdims": False, "axis": (1,)}, {"axis": (1,), "keepdims": False}, True),
    ],
)
def test_reduction_attributes(a, b, merge):
    g = _twice(F32, (3, 4), "sum", a, b)
    assert ops(check_pass(cse, g)) == (["sum"] if merge else ["sum", "sum"])


@pytest.mark.parametrize(
    "a,b,merge",
    [([1, 0, 2], [1, 0, 2], True), ([1, 0, 2], [0, 2, 1], False), ((2, 1, 0), (2, 1, 0), True)],
)
def test_list_attributes_are_compared_by_contents(a, b, merge):
    g = _twice(F32, (2, 3, 4), "permute", {"dims": a}, {"dims": b})
    assert ops(check_pass(cse, g)) == (["permute"] if merge else ["permute", "permute"])


@pytest.mark.parametrize(
    "a,b,merge",
    [
        (np.dtype(np.float64), np.dtype("float64"), True),
        (np.dtype(np.float64), np.dtype(np.float16), False),
        (np.float64, np.float64, True),
        (np.dtype(np.int32), np.dtype(np.int64), False),
    ],
)
def test_dtype_attributes(a, b, merge):
    g = _twice(F32, (3,), "cast", {"dtype": a}, {"dtype": b})
    assert ops(check_pass(cse, g)) == (["cast"] if merge else ["cast", "cast"])


def test_constants_with_equal_bytes_merge_and_others_stay():
    g = Graph()
    x = g.add_input(F32, (3,), "x")
    cs = [
        g.add_const(np.array([1.0, 2.0, 3.0], F32)),
        g.add_const(np.array([1.0, 2.0, 3.0], F32)),  # same: merged with the first
        g.add_const(np.array([1.0, 2.0, 3.0], np.float64)),  # another dtype
        g.add_const(np.array([0.0, 2.0, 3.0], F32)),
        g.add_const(np.array([-0.0, 2.0, 3.0], F32)),  # equal values, other bits
        g.add_const(np.array([[1.0, 2.0, 3.0]], F32)),  # another shape
    ]
    g.outputs = [g.add_node("mul", [x, c]).outputs[0] for c in cs]
    s = check_pass(cse, g)
    assert len(s.constants) == 5 and len(s.nodes) == 5
    assert s.outputs[0] is s.outputs[1]
    assert len({id(v) for v in s.outputs}) == 5


def test_nodes_reading_merged_constants_merge():
    g = Graph()
    a = g.add_const(np.arange(4, dtype=F32))
    b = g.add_const(np.arange(4, dtype=F32))
    x = g.add_input(F32, (4,), "x")
    g.outputs = [g.add_node("add", [x, c]).outputs[0] for c in (a, b)]
    assert ops(check_pass(cse, g)) == ["add"]


def test_inputs_with_equal_types_are_never_merged():
    g = Graph()
    x, y = g.add_input(F32, (3,), "x"), g.add_input(F32, (3,), "y")
    g.outputs = [g.add_node("exp", [x]).outputs[0], g.add_node("exp", [y]).outputs[0]]
    s = check_pass(cse, g)
    assert len(s.inputs) == 2 and ops(s) == ["exp", "exp"]


def test_random_masks_with_the_same_seed_merge():
    # pure: the seed is an input, so two masks from one seed are the same mask
    g = Graph()
    seed = g.add_input(np.int64, (), "seed")
    attrs = {"shape": (5,), "p": 0.5, "dtype": np.dtype(F32)}
    g.outputs = [g.add_node("bernoulli_mask", [seed], attrs).outputs[0] for _ in range(2)]
    assert ops(check_pass(cse, g)) == ["bernoulli_mask"]


class _Opaque:
    def __eq__(self, other):  # a doubtful __eq__ must not make two attributes "equal"
        return True

    __hash__ = object.__hash__


def test_attr_key_is_canonical_and_strict():
    k = attr_key
    assert k(1) != k(True) and k(0) != k(False) and k(1) != k(1.0)
    assert k(0.0) != k(-0.0) and k(float("nan")) == k(float("nan"))
    assert k([1, 2]) == k([1, 2]) and k([1, 2]) != k((1, 2))
    assert k({"a": [1], "b": 2}) == k({"b": 2, "a": [1]})
    assert k(slice(None, 2)) == k(slice(None, 2)) != k(slice(0, 2))
    assert k(np.dtype(np.float32)) == k(np.dtype("float32")) != k("float32")
    assert k(np.dtype(np.float32)) != k(np.float32)  # type vs dtype: kept apart (safe)
    assert k(np.dtype("<f4")) != k(np.dtype(">f4"))
    assert k(np.array([1, 2])) == k(np.array([1, 2]))
    assert k(np.array([1, 0], bool)) != k(np.array([1, 0], np.int8))  # mask vs index
    assert k(np.array([1, 2])) != k(np.array([[1, 2]]))
    assert k(np.float32(1.0)) != k(np.float64(1.0)) and k(np.float32(1.0)) != k(1.0)
    a, b = _Opaque(), _Opaque()
    assert k(a) == k(a) and k(a) != k(b)
    hash(k([{"x": np.arange(3)}, slice(1, None), np.dtype(np.int8)]))  # always hashable
