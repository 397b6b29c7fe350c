"""Errors inside compiled code point at the user's line; debug=True finds the first bad node."""

import numpy as np
import pytest

import ember
from ember.ir import ExecutionError


def gather_rows(x, idx):
    y = x * 2
    return y[idx]  # the failing line: idx is out of range on the second call


def test_runtime_error_names_node_op_shapes_and_user_line():
    fast = ember.compile(gather_rows)
    x = ember.randn(4, 3)
    fast(x, ember.tensor([0, 3]))  # traces
    np.testing.assert_array_equal(fast(x, ember.tensor([1, 2])).numpy(), (x * 2).numpy()[[1, 2]])
    with pytest.raises(ExecutionError) as info:
        fast(x, ember.tensor([0, 9]))
    msg = str(info.value)
    line = gather_rows.__code__.co_firstlineno + 2
    assert f"test_debugging.py:{line} in gather_rows" in msg
    assert "float32[4, 3]" in msg and "int64[2]" in msg
    assert info.value.node is not None and info.value.node.op in msg


def log_of_shifted(x):
    y = x - 1.0
    z = ember.log(y)  # NaN for x < 1
    return z * 3.0


def test_debug_mode_reports_first_non_finite_node():
    fast = ember.compile(log_of_shifted, debug=True)
    fast(ember.full((3,), 2.0))  # traces
    assert np.allclose(fast(ember.full((3,), 3.0)).numpy(), 3 * np.log(2.0))
    with pytest.raises(ExecutionError) as info:
        fast(ember.tensor([2.0, 0.5, 3.0]))
    msg = str(info.value)
    line = log_of_shifted.__code__.co_firstlineno + 2
    assert "NaN" in msg and f"test_debugging.py:{line}" in msg and "log" in msg


def test_without_debug_nan_flows_through_like_eager():
    fast = ember.compile(log_of_shifted)
    fast(ember.full((3,), 2.0))
    with np.errstate(invalid="ignore"):
        out = fast(ember.tensor([2.0, 0.5, 3.0])).numpy()
    assert np.isnan(out[1]) and np.isfinite(out[[0, 2]]).all()


def test_graph_print_shows_source_lines(capsys):
    fast = ember.compile(log_of_shifted)
    x = ember.full((3,), 2.0)
    fast.graph(x).print()
    text = capsys.readouterr().out
    line = log_of_shifted.__code__.co_firstlineno + 2
    assert f"test_debugging.py:{line} in log_of_shifted" in text
