"""Generated C loops for fused elementwise nodes: the same bits as running the chain op by op
with NumPy (the reference interpreter on the unfused graph), special values included."""

import numpy as np
import pytest

import ember
import ember.native
from ember.backends.numpy import codegen, fused_c
from ember.ir import Graph, run_graph
from ember.native import build, parallel
from ember.passes import run_passes
from ember.passes.fuse import fuse

pytestmark = pytest.mark.skipif(build.compiler() is None, reason="no C compiler on this machine")

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
SPECIALS = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, -1e-310, 3e38, -2.5, 1.0]
N = 257  # not a multiple of any vector width: the loop tails run too


@pytest.fixture(autouse=True)
def c_for_every_size(monkeypatch):
    monkeypatch.setattr(fused_c, "MIN_ELEMENTS", [0])


def _values(dtype, rng, n=N):
    v = rng.standard_normal(n).astype(dtype)
    v[: len(SPECIALS)] = np.array(SPECIALS, dtype)[:n]
    return rng.permutation(v)


def _same(got, want):
    """Bit for bit, except that any NaN equals any NaN (payloads are not specified)."""
    assert got.dtype == want.dtype and got.shape == want.shape
    nan = np.isnan(want) if want.dtype.kind == "f" else np.zeros(want.shape, bool)
    np.testing.assert_array_equal(np.isnan(got) if got.dtype.kind == "f" else nan, nan)
    k = got.dtype.itemsize
    bits = (lambda a: a.view(f"u{k}")) if got.dtype.kind == "f" else (lambda a: a)
    np.testing.assert_array_equal(bits(got)[~nan], bits(want)[~nan])


def _add(g, op, *ins, **attrs):
    return g.add_node(op, list(ins), attrs or None).outputs[0]


# each builds its chain on x, y (full arrays of dtype dt) and s (a 0-d dt array)
def _arith(g, x, y, s, dt):
    a = _add(g, "add", _add(g, "mul", x, 0.9), y)
    b = _add(g, "div", a, _add(g, "sub", s, x))
    return [a, _add(g, "sub", 2, b), _add(g, "mul", b, -1e-3)]


def _unary(g, x, y, s, dt):
    return [_add(g, "add", _add(g, "sqrt", _add(g, "abs", x)), _add(g, "neg", y))]


def _picks(g, x, y, s, dt):
    return [
        _add(g, "maximum", x, y),
        _add(g, "minimum", y, x),
        _add(g, "add", _add(g, "relu", x), _add(g, "maximum", y, -0.0)),
        _add(g, "minimum", x, s),
    ]


def _logic(g, x, y, s, dt):
    lt, ge = _add(g, "lt", x, y), _add(g, "ge", x, 0.5)
    outs = [_add(g, op, x, y) for op in ("eq", "ne", "le", "gt")]
    both = _add(g, "logical_and", lt, _add(g, "logical_not", ge))
    return outs + [
        _add(g, "logical_or", both, _add(g, "eq", y, s)),
        _add(g, "where", lt, x, 1.5),
        _add(g, "where", ge, _add(g, "mul", y, 2.0), s),
    ]


def _casts(g, x, y, s, dt):
    other = F32 if dt == F64 else F64
    up = _add(g, "cast", x, dtype=other)
    return [
        _add(g, "add", _add(g, "mul", up, 3.0), _add(g, "cast", y, dtype=other)),
        _add(g, "cast", _add(g, "mul", x, y), dtype=np.dtype(bool)),
        _add(g, "add", _add(g, "cast", _add(g, "gt", x, y), dtype=dt), x),
    ]


def _adam(g, x, y, s, dt):
    """exp_avg, exp_avg_sq and the parameter, as ember.optim.Adam traces them."""
    m = _add(g, "add", x, _add(g, "mul", 0.1, _add(g, "sub", y, x)))
    v = _add(g, "add", _add(g, "mul", _add(g, "abs", x), 0.999), _add(g, "mul", 1e-3, y))
    v = _add(g, "mul", v, y)
    d = _add(g, "add", _add(g, "div", _add(g, "sqrt", v), 0.7), 1e-8)
    return [m, v, _add(g, "sub", y, _add(g, "mul", s, _add(g, "div", m, d)))]


def _sgd(g, x, y, s, dt):
    """The momentum buffer x and the parameter y, as ember.optim.SGD traces them."""
    buf = _add(g, "add", _add(g, "mul", x, 0.9), y)
    return [buf, _add(g, "sub", y, _add(g, "mul", s, buf))]


CHAINS = [_sgd, _arith, _unary, _picks, _logic, _casts, _adam]


def _graph(chain, dt, n=N):
    g = Graph()
    x, y = g.add_input(dt, (n,), "x"), g.add_input(dt, (n,), "y")
    s = g.add_input(dt, (), "s")
    g.outputs = chain(g, x, y, s, dt)
    return g


def _inputs(dt, rng, n=N):
    return [_values(dt, rng, n), _values(dt, rng, n), np.asarray(rng.standard_normal(), dt)]


@pytest.mark.parametrize("dt", [F32, F64], ids=str)
@pytest.mark.parametrize("chain", CHAINS, ids=lambda c: c.__name__)
def test_generated_loop_matches_the_op_by_op_chain(chain, dt):
    g = _graph(chain, dt)
    fused = fuse(g)
    nodes = [n for n in fused.nodes if n.op == "fused"]
    kernels = fused_c.compile_nodes(nodes)
    assert set(kernels) == set(nodes)  # every chain here qualifies
    fn = codegen.generate(run_passes(g))
    assert "_fused([" in fn.source
    rng = np.random.default_rng(0)
    for _ in range(3):
        ins = _inputs(dt, rng)
        with np.errstate(all="ignore"):
            want = run_graph(g, ins)
        for got, ref in zip(fn(*ins), want):
            _same(np.asarray(got), np.asarray(ref))


def _kernel_call(g, arrays, targets=None):
    """Run the one fused node of ``g`` on ``arrays`` (by graph input) into ``targets`` (by
    graph output); the results in graph output order."""
    f = fuse(g)
    (node,) = f.nodes
    kernel = fused_c.compile_nodes([node])[node]
    by_input = dict(zip(f.inputs, arrays))
    targets = targets or {}
    outs = kernel(
        [by_input[v] for v in node.inputs] + [targets.get(f.outputs.index(o)) for o in node.outputs]
    )
    return [outs[node.outputs.index(o)] for o in f.outputs]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_outputs_written_in_place_over_their_inputs():
    """The memory planner writes a chain's result into a dying input's buffer, and a
    donated parameter is updated in its own array: both alias at the same element."""
    g = _graph(_sgd, F32)
    x, y, s = _inputs(F32, np.random.default_rng(1))
    want = run_graph(g, [x, y, s])
    x2, y2 = x.copy(), y.copy()
    got = _kernel_call(g, [x2, y2, s], {0: x2, 1: y2})  # buffer and parameter in place
    assert got[0] is x2 and got[1] is y2
    for a, b in zip(got, want):
        _same(a, b)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_shifted_overlap_is_detected_and_the_inputs_copied():
    g = _graph(_sgd, F32, n=64)
    x, y, s = _inputs(F32, np.random.default_rng(2), n=64)
    want = run_graph(g, [x, y, s])
    store = np.zeros(65, np.float32)
    store[:64] = y  # the output starts one element after the input it overlaps: a plain
    got = _kernel_call(g, [x, store[:64], s], {0: store[1:]})  # loop would read its writes
    for a, b in zip(got, want):
        _same(a, b)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_non_contiguous_inputs_are_read_correctly():
    g = _graph(_picks, F64, n=40)
    rng = np.random.default_rng(3)
    x = _values(F64, rng, 80)[::2]
    y, s = _values(F64, rng, 40), np.asarray(0.5)
    fn = codegen.generate(run_passes(g))
    assert "_fused([" in fn.source
    for a, b in zip(fn(x, y, s), run_graph(g, [x, y, s])):
        _same(np.asarray(a), b)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_threaded_split_gives_the_serial_bits(monkeypatch):
    g = _graph(_adam, F32, n=4099)
    ins = _inputs(F32, np.random.default_rng(4), n=4099)
    fn = codegen.generate(run_passes(g))
    serial = [np.array(a) for a in fn(*ins)]
    monkeypatch.setattr(parallel, "MIN_WORK", [1])
    monkeypatch.setattr(parallel, "THREADS", [2])
    fn = codegen.generate(run_passes(g))
    for a, b in zip(fn(*ins), serial):
        _same(np.asarray(a), b)


# (output shape, the shapes of the broadcast inputs b and m): a bias read per column, a
# statistic read per row, both at once, a single element, and a bias of a 3-D activation
BROADCASTS = [
    ((8, 33), (33,), (8, 1)),
    ((5, 7, 9), (1, 9), (5, 7, 1)),
    ((6, 4, 5), (4, 5), (6, 1, 1)),
    ((3, 37), (1, 1), (3, 1)),
]


def _bias_chain(g, x, b, m, s):
    """relu(x * s + b) and the normalization (x - m) * b: per-column and per-row reads."""
    pre = _add(g, "add", _add(g, "mul", x, s), b)
    return [_add(g, "relu", pre), _add(g, "mul", _add(g, "sub", x, m), b), _add(g, "le", pre, m)]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dt", [F32, F64], ids=str)
@pytest.mark.parametrize("shapes", BROADCASTS, ids=str)
def test_broadcast_inputs_are_read_per_row_and_column(shapes, dt, threads, monkeypatch):
    out, b_shape, m_shape = shapes
    g = Graph()
    x, s = g.add_input(dt, out, "x"), g.add_input(dt, (), "s")
    b, m = g.add_input(dt, b_shape, "b"), g.add_input(dt, m_shape, "m")
    g.outputs = _bias_chain(g, x, b, m, s)
    monkeypatch.setattr(parallel, "MIN_WORK", [1 if threads > 1 else 1 << 40])
    monkeypatch.setattr(parallel, "THREADS", [threads])
    fn = codegen.generate(run_passes(g))
    assert "_fused([" in fn.source  # one C kernel, not the NumPy chain
    rng = np.random.default_rng(7)
    for _ in range(2):
        ins = [
            _values(dt, rng, int(np.prod(out))).reshape(out),
            np.asarray(rng.standard_normal(), dt),
            _values(dt, rng, int(np.prod(b_shape))).reshape(b_shape),
            _values(dt, rng, int(np.prod(m_shape))).reshape(m_shape),
        ]
        want = run_graph(g, ins)
        for got, ref in zip(fn(*ins), want):
            _same(np.asarray(got), np.asarray(ref))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_an_output_over_a_broadcast_input_makes_the_inputs_copied():
    g = Graph()
    x, b = g.add_input(F32, (4, 16), "x"), g.add_input(F32, (16,), "b")
    g.outputs = [_add(g, "relu", _add(g, "add", x, b))]
    rng = np.random.default_rng(8)
    xs = _values(F32, rng, 64).reshape(4, 16)
    store = np.zeros(64, np.float32)
    store[:16] = rng.standard_normal(16)
    bias = store[:16]  # the output's first row is the bias's memory: a plain loop would
    want = run_graph(g, [xs, bias.copy()])[0]  # read the bias it has overwritten
    (got,) = _kernel_call(g, [xs, bias], {0: store.reshape(4, 16)})
    _same(got, want)


def test_a_broadcast_input_of_the_wrong_size_is_refused():
    g = Graph()
    x, b = g.add_input(F32, (4, 16), "x"), g.add_input(F32, (16,), "b")
    g.outputs = [_add(g, "relu", _add(g, "add", x, b))]
    fits = r"input of shape \(8,\) does not fit the output \(4, 16\)"
    with pytest.raises(ValueError, match=fits):
        _kernel_call(g, [np.ones((4, 16), np.float32), np.ones(8, np.float32)])


def _only_node(g):
    return [n for n in fuse(g).nodes if n.op == "fused"]


def _rows_graph(chain):
    g = Graph()
    x, b = g.add_input(F32, (8, 16), "x"), g.add_input(F32, (16,), "b")
    g.outputs = [chain(g, x, b)]
    return g


def test_what_stays_numpy(monkeypatch):
    # exp: NumPy's bits differ from the C library's
    g = _rows_graph(lambda g, x, b: _add(g, "exp", _add(g, "mul", x, 2.0)))
    assert fused_c.compile_nodes(_only_node(g)) == {}
    # an input broadcast along the rows and the columns both: no one split fits it
    h = Graph()
    x, c = h.add_input(F32, (8, 4, 16), "x"), h.add_input(F32, (4, 1), "c")
    h.outputs = [_add(h, "relu", _add(h, "add", x, c))]
    assert fused_c.compile_nodes(_only_node(h)) == {}
    h = Graph()
    i = h.add_input(np.int32, (8, 16), "i")
    h.outputs = [_add(h, "add", _add(h, "mul", i, 3), 1)]  # integer arithmetic
    assert fused_c.compile_nodes(_only_node(h)) == {}
    h = Graph()
    m = h.add_input(np.bool_, (8, 16), "m")
    h.outputs = [_add(h, "add", _add(h, "mul", m, m), m)]  # bool add is a logical or
    assert fused_c.compile_nodes(_only_node(h)) == {}
    small = _graph(_sgd, F32, n=64)  # four ops
    short = Graph()
    v = short.add_input(F32, (64,), "v")
    short.outputs = [_add(short, "add", _add(short, "mul", v, 2.0), 1.0)]  # two ops
    monkeypatch.setattr(fused_c, "MIN_ELEMENTS", [65])  # too small to pay a ctypes call,
    assert fused_c.compile_nodes(_only_node(short)) == {}  # and too short for the cheap one
    assert len(fused_c.compile_nodes(_only_node(small))) == 1
    monkeypatch.setattr(fused_c, "kernel_call", lambda: None)  # no extension: ctypes only
    assert fused_c.compile_nodes(_only_node(small)) == {}
    monkeypatch.setattr(fused_c, "MIN_ELEMENTS", [64])
    with ember.native.use(False):
        assert fused_c.compile_nodes(_only_node(small)) == {}
    assert len(fused_c.compile_nodes(_only_node(small))) == 1


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_without_the_call_extension_ctypes_runs_the_same_kernels(monkeypatch):
    g = _graph(_adam, F32)
    ins = _inputs(F32, np.random.default_rng(5))
    want = [np.array(a) for a in codegen.generate(run_passes(g))(*ins)]
    monkeypatch.setattr(fused_c, "kernel_call", lambda: None)
    fn = codegen.generate(run_passes(g))
    assert "_fused([" in fn.source
    for a, b in zip(fn(*ins), want):
        _same(np.asarray(a), b)


# (shape, leading axes summed, keepdims): a bias gradient, a sequence model's (two leading
# axes), a single row, and no rows at all (the sum is then zeros, as NumPy's)
COLUMN_SUMS = [((33, 9), 1, False), ((4, 5, 7), 2, True), ((1, 6), 1, False), ((0, 5), 1, False)]


def _column_sum_graph(dt, shape, k, keepdims):
    """relu backward, where(y <= 0, 0, gy), and its sum over the leading ``k`` axes."""
    g = Graph()
    y, gy = g.add_input(dt, shape, "y"), g.add_input(dt, shape, "gy")
    d = _add(g, "where", _add(g, "le", y, 0), 0, gy)
    s = _add(g, "sum", d, axis=tuple(range(k)), keepdims=keepdims)
    g.outputs = [d, s]
    return g


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("path", ["call", "ctypes", "threads"])
@pytest.mark.parametrize("dt", [F32, F64], ids=str)
@pytest.mark.parametrize("case", COLUMN_SUMS, ids=str)
def test_a_column_sum_adds_the_rows_in_order_in_the_loop(case, dt, path, monkeypatch):
    """The sum is accumulated in the chain's loop with the bits of the op's own ``sum``
    (rows added in order), through either call path; threads never split its rows."""
    shape, k, keepdims = case
    g = _column_sum_graph(dt, shape, k, keepdims)
    if path == "ctypes":
        monkeypatch.setattr(fused_c, "kernel_call", lambda: None)
    if path == "threads":
        monkeypatch.setattr(parallel, "MIN_WORK", [1])
        monkeypatch.setattr(parallel, "THREADS", [2])
    fn = codegen.generate(run_passes(g))
    assert "_fused([" in fn.source and "_row_sum" not in fn.source
    rng = np.random.default_rng(9)
    n = int(np.prod(shape))
    for _ in range(2):
        ins = [_values(dt, rng, n).reshape(shape), _values(dt, rng, n).reshape(shape)]
        ins[1][..., 0] = 1e30  # a large column: the order of the additions shows in its bits
        for got, ref in zip(fn(*ins), run_graph(g, ins)):
            _same(np.asarray(got), np.asarray(ref))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_column_sum_over_an_input_makes_the_inputs_copied():
    g = _column_sum_graph(F32, (6, 8), 1, False)
    rng = np.random.default_rng(10)
    y, gy = _values(F32, rng, 48).reshape(6, 8), _values(F32, rng, 48).reshape(6, 8)
    want = run_graph(g, [y, gy.copy()])
    # the sum's buffer is the first row of gy: a plain loop would read the sums it wrote
    got = _kernel_call(g, [y, gy], {1: gy[0]})
    for a, b in zip(got, want):
        _same(a, b)
