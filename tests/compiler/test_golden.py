"""Golden printed graphs: the optimized inference graphs of the MLP, LeNet-5 and a Transformer
encoder layer are checked in under ``tests/golden/`` so that a change to tracing or to a pass
shows up as a reviewable diff. Each golden file is also parsed and run, and must compute what
the eager model computes, so a golden file cannot silently hold a wrong graph.

Regenerate after an intended change with
``EMBER_UPDATE_GOLDEN=1 pytest tests/compiler/test_golden.py``.
"""

import os
from pathlib import Path

import numpy as np
import pytest

import ember
from ember import models, nn
from ember.ir import parse, run_graph
from ember.ir.printer import format_graph
from ember.ir.verify import verify

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _transformer_layer():
    layer = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, dropout=0.0, batch_first=True)
    return layer.eval()


CASES = {
    "mlp": (lambda: models.mlp(), (32, 784)),
    "lenet5": (lambda: models.lenet5(), (32, 1, 28, 28)),
    "transformer_encoder_layer": (_transformer_layer, (8, 10, 32)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_printed_graph_matches_golden_and_computes_the_model(name):
    build, shape = CASES[name]
    ember.manual_seed(0)
    model = build()
    x = ember.randn(*shape)
    with ember.no_grad():
        graph = ember.compile(model).graph(x)
        expected = model(x).numpy()
    text = format_graph(graph, source=False) + "\n"
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("EMBER_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"{path} differs; regenerate with EMBER_UPDATE_GOLDEN=1"

    golden = parse(path.read_text())
    verify(golden)
    params = dict(model.named_parameters())
    args = [x.numpy()] + [params[v.name].detach().numpy() for v in golden.inputs[1:]]
    (out,) = run_graph(golden, args)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
