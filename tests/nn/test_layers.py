"""Every layer against its PyTorch twin (same weights): outputs, input and parameter
gradients, and buffers, in train and eval mode."""

import numpy as np
import pytest
import torch

import ember
from ember.testing.layertest import LayerCase, run_layer_case

E, T = ember.nn, torch.nn


def both(name, *args, **kwargs):
    """The same layer constructed in both frameworks."""
    return lambda: getattr(E, name)(*args, **kwargs), lambda: getattr(T, name)(*args, **kwargs)


def case(label, name, args=(), kwargs=None, inputs=((4, 3),), **extra):
    e, t = both(name, *args, **(kwargs or {}))
    return LayerCase(label, e, t, list(inputs), **extra)


def ints(high, shape):
    return lambda rng: rng.integers(0, high, shape)


def targets(n_classes, shape):
    return lambda rng: rng.integers(0, n_classes, shape)


def probs(shape):
    return lambda rng: rng.uniform(0.05, 0.95, shape)


CASES = [
    case("linear", "Linear", (3, 5)),
    case("linear_nobias_3d", "Linear", (3, 5), {"bias": False}, [(2, 4, 3)]),
    LayerCase(
        "bilinear", lambda: E.Bilinear(3, 4, 2), lambda: T.Bilinear(3, 4, 2), [(5, 3), (5, 4)]
    ),
    case("conv1d", "Conv1d", (3, 4, 3), {"stride": 2, "padding": 1}, [(2, 3, 9)]),
    case("conv2d", "Conv2d", (3, 4, 3), {"padding": "same", "dilation": 2}, [(2, 3, 7, 6)]),
    case(
        "conv2d_groups", "Conv2d", (4, 8, (3, 2)), {"groups": 4, "stride": (2, 1)}, [(2, 4, 7, 6)]
    ),
    case(
        "conv_transpose2d",
        "ConvTranspose2d",
        (4, 3, 3),
        {"stride": 2, "padding": 1, "output_padding": 1},
        [(2, 4, 5, 5)],
    ),
    case("maxpool1d", "MaxPool1d", (3,), {"stride": 2}, [(2, 3, 9)]),
    case("maxpool2d", "MaxPool2d", (2,), {}, [(2, 3, 6, 6)]),
    case("maxpool2d_pad_ceil", "MaxPool2d", (3, 2, 1), {"ceil_mode": True}, [(2, 3, 7, 6)]),
    case("avgpool2d", "AvgPool2d", (3, 2, 1), {"count_include_pad": False}, [(2, 3, 7, 6)]),
    case("adaptive_avgpool2d", "AdaptiveAvgPool2d", ((3, 2),), {}, [(2, 3, 7, 5)]),
    case("upsample_nearest", "Upsample", (), {"scale_factor": 2}, [(1, 2, 3, 4)]),
    case(
        "upsample_bilinear",
        "Upsample",
        (),
        {"size": (5, 7), "mode": "bilinear", "align_corners": False},
        [(1, 2, 3, 4)],
    ),
    case("batchnorm1d", "BatchNorm1d", (3,), {}, [(8, 3)]),
    case("batchnorm1d_3d", "BatchNorm1d", (3,), {"momentum": None}, [(4, 3, 5)]),
    case("batchnorm2d", "BatchNorm2d", (3,), {"momentum": 0.3}, [(4, 3, 2, 5)]),
    case(
        "batchnorm2d_no_affine",
        "BatchNorm2d",
        (3,),
        {"affine": False, "track_running_stats": False},
        [(4, 3, 2, 2)],
    ),
    case("layernorm", "LayerNorm", ((4, 5),), {}, [(2, 3, 4, 5)]),
    case("groupnorm", "GroupNorm", (2, 4), {}, [(3, 4, 5)]),
    case("dropout_p0", "Dropout", (0.0,), {}, [(4, 5)]),
    case("dropout_eval", "Dropout", (0.5,), {}, [(4, 5)], modes=("eval",)),
    case(
        "embedding", "Embedding", (10, 4), {"padding_idx": 2}, [ints(10, (3, 5))], grad_inputs=False
    ),
    case("flatten", "Flatten", (), {}, [(2, 3, 4)]),
    case("unflatten", "Unflatten", (1, (2, 3)), {}, [(4, 6)]),
    case("identity", "Identity", (), {}, [(2, 3)]),
    case("relu", "ReLU"),
    case("relu6", "ReLU6"),
    case("leaky_relu", "LeakyReLU", (0.2,)),
    case("elu", "ELU", (0.7,)),
    case("gelu", "GELU"),
    case("gelu_tanh", "GELU", ("tanh",)),
    case("silu", "SiLU"),
    case("softplus", "Softplus", (2.0, 5.0)),
    case("hardtanh", "Hardtanh", (-0.5, 0.7)),
    case("hardsigmoid", "Hardsigmoid"),
    case("hardswish", "Hardswish"),
    case("sigmoid", "Sigmoid"),
    case("tanh", "Tanh"),
    case("softmax", "Softmax", (1,)),
    case("log_softmax", "LogSoftmax", (-1,)),
    case(
        "cross_entropy",
        "CrossEntropyLoss",
        (),
        {"label_smoothing": 0.1},
        [(5, 4), targets(4, (5,))],
    ),
    case(
        "cross_entropy_weight",
        "CrossEntropyLoss",
        (),
        {"ignore_index": 1},
        [(5, 4, 3), targets(4, (5, 3))],
    ),
    case("nll", "NLLLoss", (), {"reduction": "sum"}, [(5, 4), targets(4, (5,))]),
    case("mse", "MSELoss", (), {}, [(3, 4), (3, 4)]),
    case("l1", "L1Loss", (), {"reduction": "none"}, [(3, 4), (3, 4)]),
    case("smooth_l1", "SmoothL1Loss", (), {"beta": 0.5}, [(3, 4), (3, 4)]),
    case("huber", "HuberLoss", (), {"delta": 0.7}, [(3, 4), (3, 4)]),
    case("bce", "BCELoss", (), {}, [probs((3, 4)), probs((3, 4))]),
    case("bce_logits", "BCEWithLogitsLoss", (), {}, [(3, 4), probs((3, 4))]),
    case("kl_div", "KLDivLoss", (), {"reduction": "batchmean"}, [(3, 4), probs((3, 4))]),
    case("rnn", "RNN", (3, 5, 2), {"nonlinearity": "relu"}, [(4, 2, 3)]),
    case(
        "rnn_bidir_batch_first",
        "RNN",
        (3, 5),
        {"bidirectional": True, "batch_first": True},
        [(2, 4, 3)],
    ),
    case("lstm", "LSTM", (3, 5, 2), {"bidirectional": True}, [(4, 2, 3)]),
    LayerCase(
        "lstm_initial_state",
        *both("LSTM", 3, 5, batch_first=True),
        [(2, 4, 3), (1, 2, 5), (1, 2, 5)],
        call=lambda layer, x, h, c: layer(x, (h, c)),
    ),
    case("lstm_unbatched", "LSTM", (3, 5), {}, [(4, 3)]),
    case("gru", "GRU", (3, 5, 2), {"batch_first": True, "bidirectional": True}, [(2, 4, 3)]),
    LayerCase("gru_initial_state", *both("GRU", 3, 5), [(4, 2, 3), (1, 2, 5)]),
    LayerCase(
        "mha_self",
        *both("MultiheadAttention", 8, 2, batch_first=True),
        [(3, 5, 8)],
        call=lambda layer, x: layer(x, x, x),
    ),
    LayerCase(
        "mha_kv_dims",
        *both("MultiheadAttention", 8, 4, kdim=6, vdim=5),
        [(5, 3, 8), (4, 3, 6), (4, 3, 5)],
        call=lambda layer, q, k, v: layer(q, k, v, average_attn_weights=False),
    ),
    LayerCase(
        "transformer_layer",
        *both("TransformerEncoderLayer", 8, 2, 16, dropout=0.0, batch_first=True),
        [(3, 5, 8)],
    ),
    LayerCase(
        "transformer_layer_prenorm_gelu",
        *both("TransformerEncoderLayer", 8, 2, 16, dropout=0.0, activation="gelu", norm_first=True),
        [(5, 3, 8)],
    ),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_layer_matches_torch(case, dtype):
    run_layer_case(case, dtype)


def test_mha_masks_match_torch():
    for dtype in ("float64",):
        rng = np.random.default_rng(0)
        kpm = rng.random((3, 5)) > 0.7
        kpm[:, 0] = False
        am = rng.random((5, 5)) > 0.8
        np.fill_diagonal(am, False)
        float_mask = rng.standard_normal((6, 5, 5))
        for mask in (am, float_mask):
            c = LayerCase(
                "mha_masks",
                *both("MultiheadAttention", 8, 2, batch_first=True),
                [(3, 5, 8)],
                call=lambda layer, x, mask=mask, kpm=kpm: layer(
                    x, x, x, key_padding_mask=_lib(x).tensor(kpm), attn_mask=_lib(x).tensor(mask)
                ),
            )
            run_layer_case(c, dtype)


def test_transformer_encoder_matches_torch():
    def build(lib_nn):
        layer = lib_nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        kw = {} if lib_nn is E else {"enable_nested_tensor": False}
        return lib_nn.TransformerEncoder(layer, 2, norm=lib_nn.LayerNorm(8), **kw)

    mask = np.triu(np.ones((5, 5), bool), 1)
    c = LayerCase(
        "encoder",
        lambda: build(E),
        lambda: build(T),
        [(3, 5, 8)],
        call=lambda layer, x: layer(x, mask=_lib(x).tensor(mask)),
    )
    run_layer_case(c, "float64")


def _lib(x):
    return ember if isinstance(x, ember.Tensor) else torch


def test_lazy_layers_infer_their_input_size():
    ember.manual_seed(0)
    lin = E.LazyLinear(4)
    assert lin(ember.ones(2, 7)).shape == (2, 4) and lin.weight.shape == (4, 7)
    assert type(lin) is E.Linear
    conv = E.LazyConv2d(6, 3, padding=1)
    assert conv(ember.ones(1, 5, 8, 8)).shape == (1, 6, 8, 8) and conv.weight.shape == (6, 5, 3, 3)


def test_layer_errors_name_the_layer():
    with pytest.raises(
        ember.ShapeError, match=r"BatchNorm2d: expected a 4-D input, got shape \(2, 3\)"
    ):
        E.BatchNorm2d(3)(ember.ones(2, 3))
    with pytest.raises(ember.ShapeError, match="GroupNorm: num_channels \\(5\\) must be divisible"):
        E.GroupNorm(2, 5)
    with pytest.raises(
        ember.ShapeError, match="LSTM: input.size\\(-1\\) must be equal to input_size \\(3\\)"
    ):
        E.LSTM(3, 4)(ember.ones(2, 1, 5))
    with pytest.raises(
        ember.ShapeError, match="embed_dim \\(6\\) must be divisible by num_heads \\(4\\)"
    ):
        E.MultiheadAttention(6, 4)
    with pytest.raises(
        ember.ShapeError,
        match=r"in_channels \(3\) and out_channels \(4\) must both be divisible by groups \(2\)",
    ):
        E.Conv2d(3, 4, 3, groups=2)
