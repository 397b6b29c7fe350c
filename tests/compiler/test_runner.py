"""The generated guards and call of a program (``ember.compiler.runner``) do what
``Program``'s loops do: the same results, write-backs, versions, ``.grad``\\ s and choice of
graph, on calls that exercise each kind of effect."""

import numpy as np
import pytest

import ember
from ember import nn, optim
from ember.compiler import runner
from tests.steps import classifier_step


def _loops_only(compiled):
    """Make every program of ``compiled`` run through ``Program``'s loops instead."""
    for p in compiled.programs:
        p._generated = ()


def _model_and_step(momentum):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=momentum)
    return model, opt, ember.compile(classifier_step(model, opt))


def _state(model, opt):
    params = [p.detach().numpy().copy() for p in model.parameters()]
    grads = [None if p.grad is None else p.grad.numpy().copy() for p in model.parameters()]
    versions = [p._vc[0] for p in model.parameters()]
    bufs = [s["momentum_buffer"].copy() for s in opt.state.values()]
    return params, grads, versions, bufs


def _same(a, b):
    if isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def test_a_training_step_has_the_same_effects_through_either_path():
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((4, 6)).astype(np.float32), rng.integers(0, 3, 4))]
    runs = []
    for generated in (True, False):
        model, opt, step = _model_and_step(0.9)
        losses = []
        for _ in range(5):
            x, y = batches[0]
            if not generated:
                _loops_only(step)
            losses.append(step(ember.tensor(x), ember.tensor(y)).item())
        assert all(bool(p._generated) == generated for p in step.programs if p.fn is not None)
        runs.append((losses, _state(model, opt)))
    _same(runs[0][0], runs[1][0])
    for a, b in zip(runs[0][1], runs[1][1]):
        _same(a, b)


def test_an_argument_written_in_place_and_a_result_that_is_an_input():
    def fn(x, w):
        x.add_(1.0)  # a write-back into an argument
        return {"same": w, "pair": (x * 2, 3)}  # an aliased result, a Python value

    for generated in (True, False):
        f = ember.compile(fn)
        x, w = ember.zeros(3), ember.ones(2)
        f(x, w)
        if not generated:
            _loops_only(f)
        version = x._vc[0]
        out = f(x, w)
        np.testing.assert_array_equal(x.numpy(), [2.0, 2.0, 2.0])
        assert x._vc[0] == version + 1
        assert out["pair"][1] == 3
        np.testing.assert_array_equal(out["pair"][0].numpy(), [4.0, 4.0, 4.0])
        assert not np.shares_memory(out["same"].numpy(), w.numpy())  # eager gives a new array


@pytest.mark.parametrize("change", ["grad", "hyper", "state", "training"])
def test_a_guard_that_stops_holding_picks_another_graph(change):
    model, opt, step = _model_and_step(0.9)
    x, y = ember.randn(4, 6), ember.tensor(np.array([0, 1, 2, 0]))
    for _ in range(3):
        step(x, y)
    (program,) = [p for p in step.programs if p.fn is not None]
    assert program.guards_hold()
    if change == "grad":
        model[0].weight.grad = None  # traced with a .grad from the step before
    elif change == "hyper":
        opt.param_groups[0]["momentum"] = 0.5
    elif change == "state":
        del opt.state[model[0].bias]
    else:
        model.eval()
    generic = all(check() == expected for check, expected in program.guards)
    assert not generic and not program.guards_hold()


def test_the_source_names_each_guard_and_effect():
    model, opt, step = _model_and_step(0.9)
    x, y = ember.randn(4, 6), ember.tensor(np.array([0, 1, 2, 0]))
    for _ in range(3):
        step(x, y)
    (program,) = [p for p in step.programs if p.fn is not None]
    text = runner.program_source(program)
    params = list(model.parameters())
    assert text.count("._data.shape == S") == len(params)  # one shape/dtype guard each
    assert text.count("._grad = _wrap(") == len(params)  # one .grad each
    assert text.count("_vc[0] += 1") == len(params)  # one write-back into each parameter


def _clearing_step(used, opt):
    def step(x):
        opt.zero_grad()  # clears both grads; backward sets only used's
        (x * used).sum().backward()

    return step


def test_a_grad_the_call_clears_is_none_afterwards():
    for generated in (True, False):
        used, unused = nn.Parameter(ember.ones(3)), nn.Parameter(ember.ones(3))
        f = ember.compile(_clearing_step(used, optim.SGD([used, unused], lr=0.1)))
        for _ in range(3):  # (traced while unused.grad is None, then while it is not)
            unused.grad = ember.ones(3)
            f(ember.ones(3))
        if not generated:
            _loops_only(f)
        unused.grad = ember.ones(3)
        f(ember.ones(3))  # a traced graph, run by the generated code or the loops
        assert unused.grad is None
        np.testing.assert_array_equal(used.grad.numpy(), [1.0, 1.0, 1.0])
