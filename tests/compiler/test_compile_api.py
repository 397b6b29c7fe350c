"""ember.compile: caching, retracing, gradients through compiled forwards, the off switch."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn
from ember.compiler import RetraceWarning
from ember.ir import TraceError


def _mlp():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def test_module_forward_matches_eager_on_new_data():
    model = _mlp()
    fast = ember.compile(model)
    with ember.no_grad():
        for _ in range(3):
            x = ember.randn(5, 4)
            np.testing.assert_array_equal(fast(x).numpy(), model(x).numpy())
    assert len(fast.programs) == 1


def test_compiled_model_sees_weight_updates():
    model = _mlp()
    fast = ember.compile(model)
    x = ember.randn(5, 4)
    with ember.no_grad():
        fast(x)
        model[0].weight.mul_(2.0)
        np.testing.assert_array_equal(fast(x).numpy(), model(x).numpy())


def test_gradients_through_compiled_forward_match_eager():
    model = _mlp()
    fast = ember.compile(model)
    for _ in range(3):
        x = ember.randn(5, 4, requires_grad=True)
        y = ember.randint(0, 3, (5,))
        model.zero_grad()
        F.cross_entropy(model(x), y).backward()
        expected = [p.grad.numpy().copy() for p in model.parameters()] + [x.grad.numpy().copy()]
        model.zero_grad()
        x.grad = None
        F.cross_entropy(fast(x), y).backward()
        got = [p.grad.numpy() for p in model.parameters()] + [x.grad.numpy()]
        for e, g in zip(expected, got):
            np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-7)
    assert len(fast.programs) == 1
    assert fast.programs[0].bwd_fn is not None


def test_gradient_of_compiled_forward_checks_in_place_changes():
    model = _mlp()
    fast = ember.compile(model)
    x = ember.randn(5, 4)
    fast(x)  # trace
    out = fast(x).sum()
    with ember.no_grad():
        model[2].weight.add_(1.0)
    with pytest.raises(ember.AutogradError, match="modified by an in-place operation"):
        out.backward()


def test_double_backward_through_compiled_forward_is_refused():
    model = _mlp()
    fast = ember.compile(model)
    x = ember.randn(5, 4, requires_grad=True)
    fast(x)
    (g,) = ember.autograd.grad(fast(x).sum(), [x], create_graph=False)
    assert g.shape == (5, 4)
    with pytest.raises(ember.AutogradError, match="create_graph"):
        ember.autograd.grad(fast(x).sum(), [x], create_graph=True)


def test_new_shape_retraces_and_too_many_warn_naming_the_argument():
    fast = ember.compile(lambda x, y: x * 2 + y)
    y = ember.ones(1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 11):
            np.testing.assert_array_equal(fast(ember.ones(n), y).numpy(), np.full(n, 3.0))
    msgs = [str(w.message) for w in caught if issubclass(w.category, RetraceWarning)]
    assert len(msgs) == 1
    assert "'x'" in msgs[0] and "shape" in msgs[0] and "dynamic=True" in msgs[0]


def test_python_arguments_are_part_of_the_signature():
    fast = ember.compile(lambda x, k: x * k)
    x = ember.ones(3)
    assert fast(x, 2.0).tolist() == [2.0, 2.0, 2.0]
    assert fast(x, 2.0).tolist() == [2.0, 2.0, 2.0]
    assert fast(x, 3.0).tolist() == [3.0, 3.0, 3.0]
    assert len(fast.programs) == 2
    # each cached graph (not a trace) now answers for its own Python value
    assert fast(x, 3.0).tolist() == [3.0, 3.0, 3.0]
    assert fast(x, 2.0).tolist() == [2.0, 2.0, 2.0]
    assert len(fast.programs) == 2


def test_training_flag_is_part_of_the_signature():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    fast = ember.compile(model)
    x = ember.randn(6, 4)
    model.eval()
    with ember.no_grad():
        fast(x)  # traces the eval graph
        x2 = ember.randn(6, 4)
        np.testing.assert_array_equal(fast(x2).numpy(), model(x2).numpy())
    assert len(fast.programs) == 1
    model.train()
    with ember.no_grad():
        fast(x)  # traces the train graph (batch statistics)
        x3 = ember.randn(6, 4)
        got = fast(x3).numpy()
        want = model(x3).numpy()  # (updates the running statistics once more, as fast did)
        np.testing.assert_array_equal(got, want)
    assert len(fast.programs) == 2
    model.eval()  # back to the cached eval graph, which reads the live running statistics
    with ember.no_grad():
        np.testing.assert_array_equal(fast(x2).numpy(), model(x2).numpy())
    assert len(fast.programs) == 2


def _branchy(x):
    if x.sum() > 0:  # a Python branch on a tensor's value
        return x
    return -x


def test_branch_on_tensor_value_names_the_line_and_the_alternatives():
    fast = ember.compile(_branchy)
    with pytest.raises(TraceError) as info:
        fast(ember.ones(3))
    msg = str(info.value)
    assert "test_compile_api.py" in msg and "_branchy" in msg
    assert "ember.cond" in msg and "ember.while_loop" in msg and "compile_enabled" in msg


def test_item_inside_compiled_code_raises():
    fast = ember.compile(lambda x: x * x.sum().item())
    with pytest.raises(TraceError, match="item"):
        fast(ember.ones(2))


def test_random_inside_compiled_code_raises():
    fast = ember.compile(lambda x: x + ember.randn(3))
    with pytest.raises(TraceError, match="random"):
        fast(ember.ones(3))


def test_tensors_made_inside_are_constants_not_live_state():
    def f(x):
        h = ember.zeros(3)
        h += x  # in-place on a tensor created inside the call
        return h * 2

    fast = ember.compile(f)
    for v in (1.0, 2.0, 5.0):
        assert fast(ember.full((3,), v)).tolist() == [2 * v] * 3


def test_disable_switch_runs_python(monkeypatch):
    calls = []

    def f(x):
        calls.append(1)
        return x + 1

    fast = ember.compile(f)
    monkeypatch.setattr(ember.config, "compile_enabled", False)
    for _ in range(3):
        fast(ember.ones(2))
    assert len(calls) == 3 and not fast.programs
    monkeypatch.setattr(ember.config, "compile_enabled", True)
    fast(ember.ones(2))
    fast(ember.ones(2))
    assert len(calls) == 4 and len(fast.programs) == 1


def test_environment_variable_disables_compile():
    code = (
        "import ember\n"
        "n = []\n"
        "f = ember.compile(lambda x: (n.append(1), x + 1)[1])\n"
        "for _ in range(3): f(ember.ones(2))\n"
        "print(ember.config.compile_enabled, len(n))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**__import__("os").environ, "EMBER_DISABLE_COMPILE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["False", "3"]


def test_nested_compiled_function_is_inlined_into_the_outer_trace():
    inner = ember.compile(lambda x: x * 3)
    outer = ember.compile(lambda x: inner(x) + 1)
    for v in (1.0, 2.0):
        assert outer(ember.full((2,), v)).tolist() == [3 * v + 1] * 2


def test_freeze_folds_parameters():
    model = _mlp()
    fast = ember.compile(model, freeze=True)
    x = ember.randn(5, 4)
    with ember.no_grad():
        expected = model(x).numpy()
        fast(x)
        np.testing.assert_array_equal(fast(x).numpy(), expected)
        g = fast.graph(x)
    assert [v.name for v in g.inputs] == ["x"]
    with ember.no_grad():  # frozen: later weight changes are not seen (documented)
        model[0].weight.add_(1.0)
        np.testing.assert_array_equal(fast(x).numpy(), expected)


def test_decorator_forms():
    @ember.compile
    def f(x):
        return x + 1

    @ember.compile(debug=True)
    def g(x):
        return x * 2

    assert f(ember.ones(2)).tolist() == [2.0, 2.0]
    assert f(ember.full((2,), 3.0)).tolist() == [4.0, 4.0]  # the cached graph
    assert g(ember.ones(2)).tolist() == [2.0, 2.0]
    assert g(ember.full((2,), 3.0)).tolist() == [6.0, 6.0]
    assert len(f.programs) == 1 and len(g.programs) == 1


def test_backward_inside_compiled_code_sets_grad_of_each_calls_arguments():
    def f(x, w):
        loss = (x * w).sum() ** 2
        loss.backward()
        return loss

    fast = ember.compile(f)
    for _ in range(3):
        x, w = ember.randn(4), ember.randn(4, requires_grad=True)
        fast(x, w)
        w_eager = w.detach().clone().requires_grad_()
        f(x, w_eager)
        np.testing.assert_allclose(w.grad.numpy(), w_eager.grad.numpy(), rtol=1e-6)
    assert len(fast.programs) == 1


def test_clearing_a_grad_inside_the_compiled_function_reuses_its_graph():
    w = nn.Parameter(ember.ones(3))

    def step(x):
        w.grad = None  # by hand, not through optimizer.zero_grad()
        (w * x).sum().backward()

    fast = ember.compile(step)
    counts = []
    for v in (1.0, 2.0, 3.0, 4.0):
        fast(ember.full((3,), v))
        np.testing.assert_array_equal(w.grad.numpy(), [v] * 3)
        counts.append(len(fast.programs))
    # traced while w.grad was None, then while it held a gradient; later calls run the graph
    assert counts[2:] == [counts[1]] * 2


def test_assigning_a_grad_inside_the_compiled_function_matches_eager():
    def make():
        w = nn.Parameter(ember.ones(3))

        def step(x):
            w.grad = x * 0.5  # backward then adds to it
            (w * x).sum().backward()
            return w.grad * 1.0

        return w, step

    w_e, eager = make()
    w_c, step = make()
    fast = ember.compile(step)
    for v in (1.0, 2.0, 3.0, 4.0):
        x = ember.full((3,), v)
        np.testing.assert_array_equal(fast(x).numpy(), eager(x).numpy())
        np.testing.assert_array_equal(w_c.grad.numpy(), w_e.grad.numpy())
    assert len(fast.programs) <= 2
