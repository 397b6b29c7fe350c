"""relu on tensors large enough to compare with a zero buffer instead of a scalar
(``ember.ops.activation.relu_zeros``): against PyTorch, eager and compiled."""

import sys

import numpy as np
import pytest
import torch

import ember
from ember.ops import activation


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_large_relu_matches_torch(dtype):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((70, 90)) * 10).astype(dtype)
    assert x.size >= activation._RELU_ZEROS_FROM
    if x.dtype.kind == "f":
        x.reshape(-1)[:4] = [np.nan, -np.inf, np.inf, -0.0]
    got = ember.relu(ember.tensor(x)).numpy()
    want = torch.relu(torch.from_numpy(x)).numpy()
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_zero_buffer_is_shared_read_only_and_stays_zero():
    x = ember.randn(80, 80)
    z = activation.relu_zeros(x._data)
    assert z.shape == (80, 80) and not z.flags.writeable
    ember.relu(x)
    assert not z.any()
    bigger = activation.relu_zeros(np.ones((200, 200), np.float32))
    assert bigger.shape == (200, 200) and not bigger.any()


def test_compiled_large_relu_equals_eager_and_its_gradient():
    x = ember.randn(64, 128, requires_grad=True)

    def f(x):
        y = ember.relu(x * 2.0)
        return y, y.sum()

    fast = ember.compile(f)
    y, s = fast(x)
    np.testing.assert_array_equal(y.detach().numpy(), ember.relu(x * 2.0).detach().numpy())
    s.backward()
    tx = torch.from_numpy(x.detach().numpy().copy()).requires_grad_()
    torch.relu(tx * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")
def test_zero_buffer_takes_no_resident_memory():
    # the buffer is a mapping of its own whose pages, read, are the kernel's zero page
    x = np.ones(1 << 20)  # float64: 8 MiB of the buffer are read below
    out = np.maximum(x, activation.relu_zeros(x))
    assert out.sum() == x.size
    addr = activation.relu_zeros(x).__array_interface__["data"][0]
    rss = None
    with open("/proc/self/smaps") as f:
        inside = False
        for line in f:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(v, 16) for v in head.split("-"))
                inside = lo <= addr < hi
            elif inside and head == "Rss:":
                rss = int(line.split()[1])
                break
    assert rss is not None and rss < 1024, f"the zero buffer's mapping has {rss} KiB resident"
