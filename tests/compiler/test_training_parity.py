"""Whole training steps of real models compiled with ``ember.compile`` match the eager steps
bitwise for 50 steps: losses, final parameters and optimizer state.

The step is ordinary user code (zero_grad, forward, loss, backward, optimizer.step). Two
identical model + optimizer copies are built from one seed and fed the same batches; one runs
eagerly, the other through the compiled step. Layer norm used to drift in the last bits (the
traced backward used the op formula instead of the fused closed form); it now records the
closed form as one ``standardize_grads`` node, and float64 optimizer steps drifted through
NumPy's float64 ``power`` (see the Adam case), so no tolerance is needed anywhere.
"""

import numpy as np
import pytest

import ember
import ember.native
from ember import nn, optim
from tests.e2e.models import lenet5, lstm_classifier, mlp, transformer_classifier
from tests.steps import classifier_step

STEPS = 50


def _batches(kind, rng, distinct=5):
    """``STEPS`` batches cycling through a few fixed ones (so the models learn something)."""
    if kind == "tokens":
        xs = [rng.integers(0, 50, (4, 12)) for _ in range(distinct)]
        ys = [rng.integers(0, 4, 4) for _ in range(distinct)]
    else:
        shape = {"mlp": (16, 64), "mlp64": (16, 64), "image": (4, 1, 28, 28)}[kind]
        dtype = np.float64 if kind == "mlp64" else np.float32
        xs = [rng.standard_normal(shape).astype(dtype) for _ in range(distinct)]
        ys = [rng.integers(0, 10, shape[0]) for _ in range(distinct)]
    return [(xs[i % distinct], ys[i % distinct]) for i in range(STEPS)]


CASES = [
    ("mlp", lambda: mlp(nn, sizes=(64, 32, 16, 10)), "mlp", optim.SGD, dict(lr=0.05, momentum=0.9)),
    # float64 Adam: bias corrections beta ** step are float64 in the graph and Python floats
    # eagerly; the pow op computes 0-d float64 powers with libm's pow, as Python does (NumPy's
    # vectorised power differs in the last bit at step 7), so this too is bitwise
    (
        "mlp_f64_adam",
        lambda: mlp(nn, sizes=(64, 32, 10)).to(ember.float64),
        "mlp64",
        optim.Adam,
        dict(lr=1e-3),
    ),
    ("lenet5", lambda: lenet5(nn), "image", optim.SGD, dict(lr=0.02, weight_decay=1e-4)),
    ("lstm", lambda: lstm_classifier(nn), "tokens", optim.Adam, dict(lr=1e-2)),
    ("transformer", lambda: transformer_classifier(nn), "tokens", optim.Adam, dict(lr=1e-3)),
]


def _build(make, cls, kw):
    ember.manual_seed(0)
    model = make()
    return model, cls(model.parameters(), **kw)


@pytest.mark.parametrize("native", [True, False], ids=["native", "numpy"])
@pytest.mark.parametrize("name, make, data, cls, kw", CASES, ids=[c[0] for c in CASES])
def test_compiled_training_matches_eager_bitwise(name, make, data, cls, kw, native):
    """With ember's C kernels (layer norm, softmax, selects) and with NumPy's alone."""
    with ember.native.use(native):
        _check_training_parity(make, data, cls, kw)


def _check_training_parity(make, data, cls, kw):
    m_eager, o_eager = _build(make, cls, kw)
    m_comp, o_comp = _build(make, cls, kw)
    eager = classifier_step(m_eager, o_eager)
    compiled = ember.compile(classifier_step(m_comp, o_comp))
    losses_e, losses_c = [], []
    for x, y in _batches(data, np.random.default_rng(1)):
        losses_e.append(float(eager(ember.tensor(x), ember.tensor(y))))
        losses_c.append(float(compiled(ember.tensor(x), ember.tensor(y))))
    assert losses_c == losses_e
    assert losses_e[STEPS - 5] < losses_e[0]  # it trained: the first batch again, 45 steps on
    assert len(compiled.programs) == 1  # one graph served the 49 steady-state steps
    for (pname, p), q in zip(m_eager.named_parameters(), m_comp.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=pname)
    for k, state in o_eager.state_dict()["state"].items():
        for key, v in state.items():
            w = o_comp.state_dict()["state"][k][key]
            np.testing.assert_array_equal(np.asarray(v), np.asarray(w), err_msg=key)


def test_the_compiled_steps_ran_the_graph_not_python():
    """The parity above is meaningful only if later steps run the graph: a step function
    that counts its Python calls is traced twice (the first optimizer step creates state,
    so its graph is not kept) and then never called again."""
    model, opt = _build(lambda: mlp(nn, sizes=(8, 4)), optim.Adam, dict(lr=0.01))
    calls = []
    inner = classifier_step(model, opt)

    def step(x, y):
        calls.append(1)
        return inner(x, y)

    compiled = ember.compile(step)
    x, y = ember.randn(4, 8), ember.randint(0, 4, (4,))
    for _ in range(6):
        compiled(x, y)
    assert len(calls) == 2
