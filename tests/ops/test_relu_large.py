"""relu on tensors large enough to compare with a zero buffer instead of a scalar
(``ember.ops.activation.relu_zeros``): against PyTorch, eager and compiled."""

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
