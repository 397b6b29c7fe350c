"""Every nn layer of tests/nn/test_layers.py eager vs compiled vs the reference interpreter.

Each layer is traced on inputs A and its cached graph run on inputs B (forward, and input
plus parameter gradients with the backward traced into the graph), in the modes the layer
case lists (train mode updates running statistics: the state left behind is compared too),
and compared bit for bit with eager mode (see ``ember.testing.check_parity``).
"""

import numpy as np
import pytest

import ember
from ember.testing import check_parity
from tests.compiler.test_parity_ops import case_params, check_case, collect
from tests.nn.test_layers import CASES, E

# The layer tests also build these inside test functions: the same layers, with the masks as
# inputs so that B's masks differ from A's.
MASKED = {
    "mha_masks": (
        lambda: E.MultiheadAttention(8, 2, batch_first=True),
        lambda layer, x, kpm, am: layer(x, x, x, key_padding_mask=kpm, attn_mask=am),
    ),
    "mha_float_mask": (
        lambda: E.MultiheadAttention(8, 2, batch_first=True),
        lambda layer, x, kpm, am: layer(x, x, x, key_padding_mask=kpm, attn_mask=am),
    ),
    "encoder_causal": (
        lambda: E.TransformerEncoder(
            E.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
            2,
            norm=E.LayerNorm(8),
        ),
        lambda layer, x, kpm, am: layer(x, mask=am, src_key_padding_mask=kpm),
    ),
}


def _mask_inputs(name, rng):
    kpm = rng.random((3, 5)) > 0.7
    kpm[:, 0] = False  # every query sees at least one key
    if name == "mha_float_mask":
        am = rng.standard_normal((6, 5, 5))
    elif name == "encoder_causal":
        am = np.triu(np.ones((5, 5), bool), 1) & (rng.random((5, 5)) > 0.3)
    else:
        am = rng.random((5, 5)) > 0.8
        np.fill_diagonal(am, False)
    return [rng.standard_normal((3, 5, 8)), kpm, am]


def _tensors(arrays, dtype, grad_inputs=True):
    out = []
    for a in arrays:
        if a.dtype.kind == "f":
            out.append(ember.tensor(a.astype(dtype)).requires_grad_(grad_inputs))
        else:
            out.append(ember.tensor(a))
    return out


def _draw(case, rng):
    return [s(rng) if callable(s) else rng.standard_normal(s) for s in case.inputs]


def _modes(case):
    return [pytest.param(case, m, id=f"{case.name}-{m}") for m in case.modes]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case, mode", [p for c in CASES for p in _modes(c)])
def test_layer_parity(case, mode, dtype):
    ember.manual_seed(0)
    layer = case.ember()
    if dtype == "float64":
        layer.double()
    layer.train(mode == "train")
    call = case.call or (lambda m, *xs: m(*xs))
    a = _tensors(_draw(case, np.random.default_rng(1)), dtype, case.grad_inputs)
    b = _tensors(_draw(case, np.random.default_rng(2)), dtype, case.grad_inputs)
    check_parity(lambda *xs: call(layer, *xs), *a, inputs_b=b, module=layer)


@pytest.mark.parametrize("name", sorted(MASKED))
def test_masked_attention_parity(name):
    ember.manual_seed(0)
    build, call = MASKED[name]
    layer = build().double().eval()
    a = _tensors(_mask_inputs(name, np.random.default_rng(1)), "float64")
    b = _tensors(_mask_inputs(name, np.random.default_rng(2)), "float64")
    check_parity(lambda *xs: call(layer, *xs), *a, inputs_b=b, module=layer)


def test_every_layer_case_is_checked():
    assert len(CASES) >= 50


# The functional tables (tests/nn/functional) through the same op harness.
FUNCTIONAL = collect(
    "tests.nn.functional",
    [
        "activation",
        "basic",
        "conv",
        "loss",
        "loss_pointwise",
        "normalization",
        "padding",
        "pooling",
        "softmax",
        "vision",
    ],
)


REFUSED = {"one_hot": "num_classes=-1 takes the number of classes from the data"}
KNOWN: dict = {}


@pytest.mark.parametrize("case, dtype", case_params(FUNCTIONAL, KNOWN))
def test_functional_parity(case, dtype):
    check_case(case, dtype, REFUSED, {})
