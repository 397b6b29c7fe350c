"""The one-pass C optimizer updates against ember.optim's NumPy formulas, bit for bit.

(tests/optim checks both against PyTorch's optimizers.)
"""

import numpy as np
import pytest

import ember
import ember.native
from ember.native import build, parallel
from ember.native import optim as native_optim

pytestmark = pytest.mark.skipif(build.compiler() is None, reason="no C compiler on this machine")

SGD_CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-2),
    dict(lr=0.05, momentum=0.9, maximize=True),
]
ADAM_CONFIGS = [
    (ember.optim.Adam, dict(lr=1e-2)),
    (ember.optim.Adam, dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    (ember.optim.Adam, dict(lr=1e-2, amsgrad=True)),
    (ember.optim.AdamW, dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
    (ember.optim.AdamW, dict(lr=1e-2, maximize=True)),
]


def _run(make_opt, dtype, native: bool, steps=6, shape=(33, 17)):
    """Parameters after ``steps`` updates with fixed pseudo-random gradients."""
    rng = np.random.default_rng(0)
    params = [
        ember.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
        for s in (shape, shape[-1:])
    ]
    opt = make_opt(params)
    with ember.native.use(native):
        for _ in range(steps):
            for p in params:
                g = rng.standard_normal(p.shape).astype(dtype)
                g.flat[:3] = [0.0, 1e-30, -1e3]  # zeros, tiny and large gradients
                p.grad = ember.tensor(g)
            opt.step()
    return [p.detach().numpy().copy() for p in params], opt


def _assert_same_bits(a, b):
    for x, y in zip(a, b):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x.view(f"u{x.itemsize}"), y.view(f"u{y.itemsize}"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", SGD_CONFIGS, ids=str)
def test_sgd_kernel_matches_numpy_formula_bit_for_bit(dtype, config):
    def make(ps):
        return ember.optim.SGD(ps, **config)

    got, opt = _run(make, dtype, native=True)
    want, ref = _run(make, dtype, native=False)
    _assert_same_bits(got, want)
    if config.get("momentum"):
        bufs = [opt.state[p]["momentum_buffer"] for p in opt.param_groups[0]["params"]]
        ref_bufs = [ref.state[p]["momentum_buffer"] for p in ref.param_groups[0]["params"]]
        _assert_same_bits(bufs, ref_bufs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls, config", ADAM_CONFIGS, ids=str)
def test_adam_kernel_matches_numpy_formula_bit_for_bit(dtype, cls, config):
    def make(ps):
        return cls(ps, **config)

    got, opt = _run(make, dtype, native=True)
    want, ref = _run(make, dtype, native=False)
    _assert_same_bits(got, want)
    for key in ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if config.get("amsgrad") else ()):
        p, q = opt.param_groups[0]["params"][0], ref.param_groups[0]["params"][0]
        _assert_same_bits([opt.state[p][key]], [ref.state[q][key]])


def test_kernels_run_for_float_arrays_and_decline_the_rest():
    p = np.ones(8, np.float32)
    assert native_optim.sgd_step(p, np.ones(8, np.float32), None, lr=0.5)
    np.testing.assert_array_equal(p, np.full(8, 0.5, np.float32))
    h = np.ones(8, np.float16)
    assert not native_optim.sgd_step(h, np.ones(8, np.float16), None, lr=0.5)
    strided = np.ones(16, np.float32)[::2]
    assert not native_optim.sgd_step(strided, np.ones(8, np.float32), None, lr=0.5)
    assert not native_optim.sgd_step(p, np.ones(8, np.float64), None, lr=0.5)  # mixed dtypes
    assert not native_optim.sgd_step(p, p, None, lr=0.5)  # the gradient is the parameter
    q = np.ones(9, np.float32)
    assert not native_optim.sgd_step(q[1:], q[:-1], None, lr=0.5)  # ... or overlaps it
    assert q.tolist() == [1.0] * 9
    m = np.zeros(8, np.float32)
    args = dict(b1=0.9, b2=0.999, eps=1e-8, step_size=1e-3, bc2_sqrt=1.0)
    assert not native_optim.adam_step(p, np.ones(8, np.float32), m, m[:4], None, **args)
    with ember.native.use(False):
        assert not native_optim.adam_step(p, np.ones(8, np.float32), m, m.copy(), None, **args)


def test_non_contiguous_parameters_take_the_numpy_formula():
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    p = ember.from_numpy(base.T)  # a transposed view: no kernel, same update
    p.requires_grad_(True)
    p.grad = ember.ones(6, 4)
    ember.optim.SGD([p], lr=0.5, momentum=0.9).step()
    np.testing.assert_array_equal(base.T, np.arange(24, dtype=np.float32).reshape(4, 6).T - 0.5)


def test_threaded_split_gives_the_serial_bits(monkeypatch):
    def make(ps):
        return ember.optim.Adam(ps, lr=1e-2, amsgrad=True)

    serial, _ = _run(make, np.float32, native=True, shape=(64, 257))
    monkeypatch.setattr(parallel, "MIN_WORK", [1])
    monkeypatch.setattr(parallel, "THREADS", [2])
    threaded, _ = _run(make, np.float32, native=True, shape=(64, 257))
    _assert_same_bits(threaded, serial)


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: ember.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.3),
        lambda ps: ember.optim.SGD(ps, lr=0.1),
        lambda ps: ember.optim.Adam(ps, lr=1e-2, amsgrad=True),
        lambda ps: ember.optim.Adam(ps, lr=1e-2),
    ],
)
def test_without_the_call_extension_ctypes_gives_the_same_bits(make, monkeypatch):
    """The updates run through ``ember.native.call``; without it, through ctypes."""
    called = []
    real = native_optim.kernel_call
    monkeypatch.setattr(native_optim, "kernel_call", lambda: called.append(1) or real())
    packed, _ = _run(make, np.float32, native=True)
    assert called  # the packed entry points were used
    monkeypatch.setattr(native_optim, "kernel_call", lambda: None)
    through_ctypes, _ = _run(make, np.float32, native=True)
    want, _ = _run(make, np.float32, native=False)
    _assert_same_bits(packed, want)
    _assert_same_bits(through_ctypes, want)
