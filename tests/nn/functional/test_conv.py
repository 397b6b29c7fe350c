"""Convolutions against PyTorch: forward, input/weight/bias gradients, gradcheck and
gradgradcheck, second-order gradients, and every error path."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F
from ember.errors import EmberValueError
from ember.testing.optest import OpCase, params, run_case

# PyTorch warns that it copies the input for 'same' padding with an even kernel
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

F32_64 = ("float32", "float64")
ALL = ("float16", "float32", "float64")
F16_TOL = {"float16": (2e-2, 2e-2)}


def case(name, shapes, fn, ref, dtypes=F32_64, **kw):
    return OpCase(
        name,
        lambda *a: fn(*a, **kw),
        lambda *a: ref(*a, **kw),
        shapes=shapes,
        dtypes=dtypes,
        tol=F16_TOL,
        grad_tol={"float16": (5e-2, 5e-2)},
    )


def c2(name, shapes, dtypes=F32_64, **kw):
    return case("conv2d-" + name, shapes, F.conv2d, TF.conv2d, dtypes, **kw)


def c1(name, shapes, dtypes=F32_64, **kw):
    return case("conv1d-" + name, shapes, F.conv1d, TF.conv1d, dtypes, **kw)


def t2(name, shapes, dtypes=F32_64, **kw):
    return case(
        "conv_transpose2d-" + name, shapes, F.conv_transpose2d, TF.conv_transpose2d, dtypes, **kw
    )


def t1(name, shapes, dtypes=F32_64, **kw):
    return case(
        "conv_transpose1d-" + name, shapes, F.conv_transpose1d, TF.conv_transpose1d, dtypes, **kw
    )


CASES = [
    c2("basic", [((2, 3, 7, 8), (4, 3, 3, 3), (4,)), ((0, 3, 5, 5), (4, 3, 3, 3), (4,))], ALL),
    c2("stride2-pad1", [((2, 3, 7, 8), (4, 3, 3, 3), (4,))], stride=2, padding=1),
    c2(
        "asym-stride-pad-dilation",
        [((2, 2, 9, 8), (3, 2, 2, 3), (3,))],
        stride=(2, 1),
        padding=(1, 2),
        dilation=(2, 1),
    ),
    c2("strided-columns", [((1, 2, 7, 11), (3, 2, 2, 5))], stride=(1, 3), padding=(0, 1)),
    c2("wide-kernel", [((2, 2, 5, 8), (3, 2, 3, 7), (3,))]),
    c2("dilation2", [((1, 2, 9, 9), (2, 2, 3, 3))], dilation=2, padding=2),
    c2("groups2", [((2, 4, 6, 7), (6, 2, 3, 3), (6,))], groups=2, padding=1),
    c2("depthwise", [((2, 4, 6, 6), (4, 1, 3, 3), (4,))], groups=4, padding=1),
    c2("depthwise-x2", [((1, 3, 5, 6), (6, 1, 3, 2))], groups=3, stride=2),
    c2("1x1", [((2, 5, 4, 3), (3, 5, 1, 1), (3,))], ALL),
    c2("1x1-stride2", [((2, 3, 5, 5), (4, 3, 1, 1))], stride=2),
    c2("same-odd", [((2, 2, 5, 6), (3, 2, 3, 5), (3,))], padding="same"),
    c2("same-even", [((1, 2, 6, 5), (2, 2, 4, 2))], padding="same", dilation=(1, 2)),
    c2("valid", [((1, 2, 6, 5), (2, 2, 3, 3))], padding="valid"),
    c2("kernel-equals-input", [((1, 3, 4, 5), (2, 3, 4, 5), (2,))]),
    c2("unbatched", [((3, 6, 5), (2, 3, 3, 2), (2,))], padding=1),
    c2("lenet-like", [((3, 1, 12, 12), (4, 1, 5, 5), (4,))]),
    c1("basic", [((2, 3, 9), (4, 3, 3), (4,))], ALL),
    c1("stride-pad-dilation", [((2, 2, 11), (3, 2, 3), (3,))], stride=2, padding=2, dilation=2),
    c1("groups", [((1, 4, 7), (4, 2, 2))], groups=2),
    c1("same", [((2, 2, 7), (3, 2, 4))], padding="same"),
    c1("unbatched", [((3, 8), (2, 3, 3), (2,))]),
    t2("basic", [((2, 3, 4, 5), (3, 2, 3, 3), (2,))], ALL),
    t2(
        "stride2-outpad",
        [((2, 3, 4, 4), (3, 2, 3, 3), (2,))],
        stride=2,
        padding=1,
        output_padding=1,
    ),
    t2(
        "asym",
        [((1, 2, 3, 5), (2, 3, 2, 3), (3,))],
        stride=(2, 3),
        padding=(1, 0),
        output_padding=(0, 2),
        dilation=(2, 1),
    ),
    t2("groups", [((2, 4, 3, 3), (4, 2, 3, 3))], groups=2, stride=2),
    t2("big-padding", [((1, 2, 5, 5), (2, 2, 3, 3))], padding=2),
    t2("unbatched", [((2, 3, 3), (2, 3, 2, 2), (3,))], stride=2),
    t1("basic", [((2, 3, 5), (3, 2, 3), (2,))]),
    t1("stride-outpad", [((1, 2, 4), (2, 3, 3))], stride=3, padding=1, output_padding=2),
]


@pytest.fixture(params=["direct", "im2col"])
def conv_path(request, monkeypatch):
    """Run every stride-1 case both ways: by the native direct kernels where they apply (the
    default for few channels) and by im2col / the wide layout with the direct path off."""
    from ember.ops import conv

    if request.param == "im2col":
        monkeypatch.setattr(conv, "DIRECT_MAX_MACS_PER_OUTPUT", [0])
    return request.param


@pytest.mark.parametrize("case, dtype", params(CASES))
def test_conv(case, dtype, conv_path):
    run_case(case, dtype)


def test_direct_path_runs_where_it_applies(monkeypatch):
    """The lenet-like case goes through the direct kernels (when they are built), and the
    input gradient too once the padding adds little work."""
    from ember.native import conv as native_conv

    if native_conv.vector_lanes(4) == 0:
        pytest.skip("no native kernels here")
    calls = []
    for name in ("forward", "input_grad", "weight_grad"):
        original = getattr(native_conv, name)
        monkeypatch.setattr(
            native_conv, name, lambda *a, _f=original, _n=name: calls.append(_n) or _f(*a)
        )
    x = ember.randn(3, 1, 12, 12, requires_grad=True)
    w = ember.randn(4, 1, 5, 5, requires_grad=True)
    F.conv2d(x, w, padding=2).sum().backward()  # 12x12 out of 16x16: fill 0.56
    assert calls == ["forward", "weight_grad"]
    calls.clear()
    x = ember.randn(3, 1, 30, 30, requires_grad=True)
    F.conv2d(x, w, padding=2).sum().backward()  # 30x30 out of 34x34: fill 0.78
    assert sorted(set(calls)) == ["forward", "input_grad", "weight_grad"]


def test_second_order_matches_torch():
    """A gradient penalty: d/dw of |dL/dx|^2 through conv2d, against PyTorch."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))

    def penalty(lib, conv, x, w):
        y = conv(x, w, stride=2, padding=1)
        (gx,) = lib.autograd.grad((y * y * y).sum(), x, create_graph=True)
        return (gx * gx).sum()

    ex, ew = (ember.tensor(a, requires_grad=True) for a in (x, w))
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, w))
    penalty(ember, F.conv2d, ex, ew).backward()
    penalty(torch, TF.conv2d, tx, tw).backward()
    np.testing.assert_allclose(ew.grad.numpy(), tw.grad.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-9)


def test_frozen_input_gets_no_gradient_work(monkeypatch):
    """The input-gradient kernel runs only for an input that requires grad."""
    from ember.ops.registry import OPS

    op = OPS["conv2d_input_grad"]
    original, calls = op.forward, []

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(op, "forward", counting)
    w = ember.randn(3, 1, 3, 3, requires_grad=True)
    x = ember.randn(2, 1, 8, 8)
    F.conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad.shape == (3, 1, 3, 3) and calls == []
    x.requires_grad_()
    F.conv2d(x, w).sum().backward()
    assert x.grad.shape == (2, 1, 8, 8) and calls == [1]


def test_inf_input_weight_gradient_matches_torch():
    x = np.ones((1, 1, 4, 6), np.float32)
    x[0, 0, 3, 5] = np.inf
    w = np.ones((1, 1, 2, 2), np.float32)
    ew = ember.tensor(w, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    F.conv2d(ember.tensor(x), ew).sum().backward()
    TF.conv2d(torch.tensor(x), tw).sum().backward()
    np.testing.assert_array_equal(ew.grad.numpy(), tw.grad.numpy())


# ---- errors --------------------------------------------------------------------------------


def raises(exc, match, fn, *args, **kw):
    with pytest.raises(exc, match=match):
        fn(*args, **kw)


def test_rank_errors():
    raises(
        ember.ShapeError,
        r"conv2d: expected 3-D \(unbatched\) or 4-D .* shape \(2, 3\)",
        F.conv2d,
        ember.ones(2, 3),
        ember.ones(1, 1, 1, 1),
    )
    raises(
        ember.ShapeError,
        r"conv1d: expected 2-D \(unbatched\) or 3-D .* \(1, 2, 3, 4\)",
        F.conv1d,
        ember.ones(1, 2, 3, 4),
        ember.ones(1, 2, 1),
    )
    raises(
        ember.ShapeError,
        r"conv2d: expected 4-D weight, got weight of shape \(2, 3, 3\)",
        F.conv2d,
        ember.ones(1, 3, 5, 5),
        ember.ones(2, 3, 3),
    )


def test_channel_mismatch():
    raises(
        ember.ShapeError,
        r"conv2d: given groups=1, weight of shape \(6, 3, 5, 5\), expected input\(1, 4, 8, 8\) "
        r"to have 3 channels, but got 4",
        F.conv2d,
        ember.ones(1, 4, 8, 8),
        ember.ones(6, 3, 5, 5),
    )
    raises(
        ember.ShapeError,
        r"conv_transpose2d: given groups=1, weight of shape \(4, 3, 3, 3\), expected "
        r"input\(1, 5, 8, 8\) to have 4 channels",
        F.conv_transpose2d,
        ember.ones(1, 5, 8, 8),
        ember.ones(4, 3, 3, 3),
    )


def test_groups_errors():
    raises(
        EmberValueError,
        r"conv2d: non-positive groups is not supported, got 0",
        F.conv2d,
        ember.ones(1, 4, 8, 8),
        ember.ones(6, 4, 3, 3),
        groups=0,
    )
    raises(
        ember.ShapeError,
        r"conv2d: given groups=2, expected weight to be divisible by 2 at dimension 0, but got "
        r"weight of shape \(5, 2, 3, 3\)",
        F.conv2d,
        ember.ones(1, 4, 8, 8),
        ember.ones(5, 2, 3, 3),
        groups=2,
    )


def test_bias_shape():
    raises(
        ember.ShapeError,
        r"conv2d: given weight of shape \(6, 4, 3, 3\), expected bias to be 1-D with 6 "
        r"elements, but got bias of shape \(5,\)",
        F.conv2d,
        ember.ones(1, 4, 8, 8),
        ember.ones(6, 4, 3, 3),
        ember.ones(5),
    )


def test_kernel_larger_than_input():
    raises(
        ember.ShapeError,
        r"conv2d: calculated padded input size per channel: \(3 x 3\). Kernel size: \(5 x 5\)."
        r" Kernel size can't be greater than actual input size \(input shape \(1, 3, 3, 3\)\)",
        F.conv2d,
        ember.ones(1, 3, 3, 3),
        ember.ones(6, 3, 5, 5),
    )
    raises(
        ember.ShapeError,
        r"conv1d: .*\(4\). Kernel size: \(5\)",
        F.conv1d,
        ember.ones(1, 1, 2),
        ember.ones(1, 1, 3),
        padding=1,
        dilation=2,
    )


def test_padding_errors():
    x, w = ember.ones(1, 3, 8, 8), ember.ones(2, 3, 3, 3)
    raises(
        EmberValueError,
        r"conv2d: padding='same' is not supported for strided convolutions"
        r" \(stride=\(2, 1\)\)",
        F.conv2d,
        x,
        w,
        stride=(2, 1),
        padding="same",
    )
    raises(
        EmberValueError, r"conv2d: invalid padding string 'full'", F.conv2d, x, w, padding="full"
    )
    raises(
        EmberValueError,
        r"conv2d: negative padding is not supported, got \(-1, -1\)",
        F.conv2d,
        x,
        w,
        padding=-1,
    )
    raises(
        EmberValueError,
        r"conv2d: expected stride to be an int or 2 ints, got \(1, 2, 3\)",
        F.conv2d,
        x,
        w,
        stride=(1, 2, 3),
    )
    raises(
        EmberValueError,
        r"conv2d: stride should be greater than zero, got \(0, 0\)",
        F.conv2d,
        x,
        w,
        stride=0,
    )
    raises(
        EmberValueError,
        r"conv1d: dilation should be greater than zero, got \(0,\)",
        F.conv1d,
        ember.ones(1, 1, 5),
        ember.ones(1, 1, 2),
        dilation=0,
    )


def test_dtype_errors():
    raises(
        ember.DTypeError,
        r"conv2d: expected floating-point .* got float64, float32",
        F.conv2d,
        ember.ones(1, 3, 5, 5, dtype=ember.float64),
        ember.ones(2, 3, 3, 3),
    )
    raises(
        ember.DTypeError,
        r"conv1d: expected floating-point .* got int64, int64",
        F.conv1d,
        ember.ones(1, 1, 5, dtype=ember.int64),
        ember.ones(1, 1, 2, dtype=ember.int64),
    )


def test_conv_transpose_errors():
    x, w = ember.ones(1, 2, 4, 4), ember.ones(2, 3, 3, 3)
    raises(
        EmberValueError,
        r"conv_transpose2d: output padding must be smaller than either stride or dilation, but "
        r"got output_padding=\(1, 1\), stride=\(1, 1\), dilation=\(1, 1\)",
        F.conv_transpose2d,
        x,
        w,
        output_padding=1,
    )
    raises(
        ember.ShapeError,
        r"conv_transpose2d: given input of shape \(1, 2, 4, 4\), the "
        r"calculated output size \(-2, -2\) is too small",
        F.conv_transpose2d,
        x,
        w,
        padding=4,
    )
    raises(
        EmberValueError,
        r"conv_transpose1d: negative padding",
        F.conv_transpose1d,
        ember.ones(1, 2, 4),
        ember.ones(2, 1, 3),
        padding=-1,
    )


@pytest.fixture(
    params=[
        "threads+direct",
        "threads",
        "col2im",
        "threads+col2im",
        "chunks",
        "threads+one-gemm",
    ]
)
def kernels(request, monkeypatch):
    """Force the batch-split (multi-threaded) kernels on whatever the sizes (the direct
    kernels split samples and weight rows), and/or, with the direct kernels off, the
    GEMM + col2im input gradient instead of the row formulation small images get, and/or
    the stride-1 kernels' other paths: several samples per chunk (a short last one), and
    the weight gradient as one GEMM over the batch instead of per-sample products."""
    from ember.native import parallel
    from ember.ops import conv, conv_wide

    if "direct" not in request.param:
        monkeypatch.setattr(conv, "DIRECT_MAX_MACS_PER_OUTPUT", [0])
    if "threads" in request.param:
        monkeypatch.setattr(parallel, "THREADS", [3])
        monkeypatch.setattr(parallel, "MIN_WORK", [0])
    if "col2im" in request.param:
        monkeypatch.setattr(conv, "ROWS_MAX_RATIO", [0.0])
    if "chunks" in request.param:  # 2 samples of the first case per chunk: 2 + 2 + 1
        monkeypatch.setattr(conv_wide, "CHUNK_ELEMENTS", 2 * 27 * 70)
        monkeypatch.setattr(conv_wide, "FORWARD_ELEMENTS", 2 * 27 * 70)
    if "one-gemm" in request.param:
        monkeypatch.setattr(conv_wide, "PER_SAMPLE_MAX_ROWS", 0)


THREADED = [
    c2("threaded", [((5, 3, 7, 8), (4, 3, 3, 3), (4,))], padding=1),
    # more output channels than column rows (20 > 2*2*2): the per-sample stride-1 forward
    c2("threaded-many-outputs", [((5, 2, 6, 7), (20, 2, 2, 2), (20,))], dilation=(2, 1)),
    c2("threaded-strided", [((4, 2, 9, 9), (4, 2, 3, 2), (4,))], stride=2, dilation=(1, 2)),
    c2("threaded-groups", [((3, 4, 6, 6), (4, 1, 3, 3))], groups=4),
    t2("threaded", [((5, 3, 4, 5), (3, 2, 3, 3), (2,))], stride=2, output_padding=1),
    case(
        "max_pool2d-threaded",
        [((5, 3, 6, 7),)],
        F.max_pool2d,
        TF.max_pool2d,
        kernel_size=2,
        return_indices=True,
    ),
    case(
        "max_pool2d-threaded-pad",
        [((4, 2, 7, 7),)],
        F.max_pool2d,
        TF.max_pool2d,
        kernel_size=3,
        stride=2,
        padding=1,
    ),
    case(
        "avg_pool2d-threaded",
        [((5, 2, 6, 7),)],
        F.avg_pool2d,
        TF.avg_pool2d,
        kernel_size=3,
        stride=2,
        padding=1,
    ),
]


@pytest.mark.parametrize("case, dtype", params(THREADED))
def test_kernel_variants(case, dtype, kernels):
    run_case(case, dtype)


def test_empty_channels_and_kernels():
    # no input channels: every output is an empty sum plus the bias (the closed form; torch
    # 2.13 returns an empty (2, 0, 8, 8) here, which drops the 4 output channels)
    x, w = np.zeros((2, 0, 8, 8), np.float32), np.zeros((4, 0, 3, 3), np.float32)
    b = np.arange(4, dtype=np.float32)
    out = F.conv2d(ember.tensor(x), ember.tensor(w), ember.tensor(b), padding=1)
    np.testing.assert_array_equal(out.numpy(), np.broadcast_to(b[:, None, None], (2, 4, 8, 8)))
    raises(
        ember.ShapeError,
        r"conv2d: weight \(4, 3, 0, 3\) has an empty kernel",
        F.conv2d,
        ember.ones(2, 3, 8, 8),
        ember.ones(4, 3, 0, 3),
    )
    raises(
        ember.ShapeError,
        r"conv2d: weight \(0, 3, 3, 3\) has an empty kernel or no output channels",
        F.conv2d,
        ember.ones(2, 3, 8, 8),
        ember.ones(0, 3, 3, 3),
    )
