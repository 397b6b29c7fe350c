"""Tensor basics against PyTorch: conversions, metadata, repr."""

import math

import numpy as np
import pytest
import torch

import ember

# ---- NumPy interop ---------------------------------------------------------------------------


def test_numpy_shares_memory():
    x = ember.zeros(2, 3)
    a = x.numpy()
    a[0, 1] = 5.0
    assert x.tolist() == [[0.0, 5.0, 0.0], [0.0] * 3]
    x.add_(1)
    assert a[1, 1] == 1.0
    y = ember.ones(2, requires_grad=True)
    assert np.shares_memory(y.detach().numpy(), y.detach().numpy())


def test_numpy_refuses_tensors_that_require_grad():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(
        ember.AutogradError,
        match=r"numpy: can't call numpy\(\) on a tensor that "
        r"requires grad; use tensor.detach\(\).numpy\(\)",
    ):
        x.numpy()
    with pytest.raises(RuntimeError):  # as torch does
        torch.ones(2, requires_grad=True).numpy()
    with pytest.raises(
        ember.AutogradError, match="__array__: can't convert a tensor that requires grad"
    ):
        np.asarray(x)


def test_array_protocol():
    x = ember.tensor([[1, 2], [3, 4]], dtype=ember.int32)
    a = np.asarray(x)
    assert a.dtype == np.int32 and np.shares_memory(a, x.numpy())
    b = np.asarray(x, dtype=np.float64)
    assert b.dtype == np.float64 and b.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    c = np.array(x, copy=True)
    c[0, 0] = 9
    assert x.tolist()[0][0] == 1
    assert np.add(np.ones(2), ember.tensor([1.0, 2.0]).numpy()).tolist() == [2.0, 3.0]


# ---- Python scalars ----------------------------------------------------------------------


SCALARS = [
    ("tensor", 2.5, {}),
    ("tensor", -2.7, {}),
    ("tensor", [[3]], {}),
    ("tensor", [True], {}),
    ("tensor", 0.0, {}),
    ("tensor", 7, {"dtype": "int32"}),
    ("tensor", 1.5, {"dtype": "float16"}),
]


@pytest.mark.parametrize("fname, data, kw", SCALARS, ids=[repr(s[1]) + str(s[2]) for s in SCALARS])
def test_item_and_python_conversions(fname, data, kw):
    e = ember.tensor(data, **{k: getattr(ember, v) for k, v in kw.items()})
    t = torch.tensor(data, **{k: getattr(torch, v) for k, v in kw.items()})
    for conv in (lambda v: v.item(), float, int, bool):
        got, expected = conv(e), conv(t)
        assert got == expected and type(got) is type(expected)


def test_item_of_tensor_requiring_grad():
    assert ember.tensor(2.0, requires_grad=True).item() == 2.0
    assert float(ember.tensor([3.0], requires_grad=True)) == 3.0


@pytest.mark.parametrize("shape", [(2,), (0,), (2, 3)])
def test_scalar_conversion_errors(shape):
    x = ember.ones(shape)
    n = math.prod(shape)
    for name, conv in (("item", lambda v: v.item()), ("float", float), ("int", int)):
        with pytest.raises(
            ember.ShapeError,
            match=rf"{name}: only one-element tensors can be "
            rf"converted to Python scalars; got {n} elements",
        ):
            conv(x)
        with pytest.raises((RuntimeError, ValueError)):
            conv(torch.ones(shape))
    with pytest.raises(
        ember.ShapeError,
        match=rf"bool: the truth value of a tensor with {n} "
        "elements is ambiguous",
    ):
        bool(x)
    with pytest.raises(RuntimeError):
        bool(torch.ones(shape))


def test_index_protocol():
    items = [10, 20, 30]
    assert items[ember.tensor(1)] == items[torch.tensor(1)]
    assert (
        items[ember.tensor([2], dtype=ember.int32)] == items[torch.tensor([2], dtype=torch.int32)]
    )
    for bad in (ember.tensor(1.0), ember.tensor([1, 2]), ember.tensor(True)):
        with pytest.raises(
            ember.DTypeError, match="index: only integer tensors of a single element"
        ):
            items[bad]
    with pytest.raises(TypeError):
        items[torch.tensor(1.0)]


@pytest.mark.parametrize("data", [[[1.0, 2.0], [3.0, 4.0]], [1, 2, 3], [], 5, [[True]], 2.5])
def test_tolist(data):
    got, expected = ember.tensor(data).tolist(), torch.tensor(data).tolist()
    assert got == expected
    assert type(got) is type(expected)


def test_len():
    assert len(ember.zeros(4, 2)) == len(torch.zeros(4, 2)) == 4
    assert len(ember.zeros(0)) == 0
    with pytest.raises(ember.DTypeError, match="len\\(\\) of a 0-d tensor"):
        len(ember.tensor(1.0))
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(torch.tensor(1.0))


def test_iteration_yields_rows_like_torch():
    data = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    rows_e = list(ember.tensor(data))
    rows_t = list(torch.tensor(data))
    assert [r.tolist() for r in rows_e] == [r.tolist() for r in rows_t]
    assert [r.shape for r in rows_e] == [tuple(r.shape) for r in rows_t]
    x = ember.tensor(data, requires_grad=True)
    total = ember.zeros(2)
    for k, row in enumerate(x):
        total = total + row * k
    total.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]


def test_iter_0d_raises():
    with pytest.raises(ember.DTypeError, match="iteration over a 0-d tensor"):
        iter(ember.tensor(1.0))


# ---- metadata -------------------------------------------------------------------------------

SHAPES = [(), (0,), (5,), (2, 3), (3, 0, 2), (2, 3, 4)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_metadata(shape):
    e, t = ember.zeros(shape), torch.zeros(shape)
    assert e.shape == tuple(t.shape) and e.size() == tuple(t.size())
    assert e.ndim == t.ndim and e.dim() == t.dim() and e.numel() == t.numel()
    assert e.stride() == t.stride()
    assert e.is_contiguous() == t.is_contiguous()
    assert e.element_size() == t.element_size()
    assert e.is_floating_point() and e.dtype == ember.float32
    for d in range(-len(shape), len(shape)):
        assert e.size(d) == t.size(d) and e.stride(d) == t.stride(d)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_dim_out_of_range(shape):
    e = ember.zeros(shape)
    n = len(shape)
    for name in ("size", "stride"):
        for d in (n, -n - 1):
            with pytest.raises(
                ember.EmberIndexError, match=rf"{name}: dimension {d} is out of range"
            ):
                getattr(e, name)(d)
            with pytest.raises(IndexError):
                getattr(torch.zeros(shape), name)(d)


@pytest.mark.parametrize(
    "make",
    [
        lambda L: L.zeros(2, 3).t(),
        lambda L: L.zeros(1, 3).t(),
        lambda L: L.zeros(2, 3, 4).permute(2, 0, 1),
        lambda L: L.zeros(3, 1).expand(3, 4),
        lambda L: L.zeros(2, 1, 4).expand(3, 2, 5, 4),
        lambda L: L.zeros(6).reshape(2, 3),
        lambda L: L.zeros(4, 3).t().reshape(12),
        lambda L: L.zeros(2, 3).transpose(0, 1).contiguous(),
    ],
)
def test_strides_and_contiguity_of_views(make):
    e, t = make(ember), make(torch)
    assert e.shape == tuple(t.shape)
    assert e.stride() == t.stride()
    assert e.is_contiguous() == t.is_contiguous()


def test_dtype_and_device():
    for name in ("bool", "int32", "int64", "float16", "float32", "float64"):
        e = ember.zeros(2, dtype=getattr(ember, name))
        t = torch.zeros(2, dtype=getattr(torch, name))
        assert e.dtype.name == str(t.dtype).replace("torch.", "")
        assert e.is_floating_point() == t.is_floating_point()
        assert e.element_size() == t.element_size()
    assert ember.zeros(1).device == "cpu"


# ---- repr -----------------------------------------------------------------------------------

LITERALS = [
    [1.5, 2.0],
    [1.0, 2.0],
    [1.0, -2.0],
    2.5,
    3.0,
    0.0,
    [],
    [[1.0, 2.0], [3.0, 4.0]],
    [1, 2, 3],
    [-1, 10, 100],
    [True, False],
    True,
    5,
    [1e-5, 1.0],
    [1e8, 1.0],
    [1e10],
    [0.1, 0.25],
    [float("nan"), 1.0],
    [float("inf"), -float("inf"), 1.5],
    [float("nan"), 1.5],
    [-0.0, 1.0],
    [123456.789, 0.5],
    [1e-10],
    [1e-3, 1e3],
    [1e-5, 1e5],
    [[1.5]],
    [[[1, 2], [3, 4]], [[5, 6], [7, 8]]],
    [1.123456789],
    [100.5, 2.25],
    [1e15, 1.5],
    [12345678.0],
    [99999999.0],
    [0.0001],
    [0.00009],
    [[-1, 2], [3, -400]],
    [[True, False], [False, True]],
    [[1e-6, 2.0], [3.0, 4e6]],
    [1, 2**40],
]


@pytest.mark.parametrize("data", LITERALS, ids=repr)
def test_repr_of_literals_matches_torch(data):
    assert repr(ember.tensor(data)) == repr(torch.tensor(data)).replace("torch.", "ember.")


MADE = [
    lambda L: L.zeros(0, 3),
    lambda L: L.zeros(2, 0),
    lambda L: L.zeros(0),
    lambda L: L.zeros(0, dtype=L.int64),
    lambda L: L.zeros(0, 2, dtype=L.bool),
    lambda L: L.zeros(2, 0, 3),
    lambda L: L.ones(2, dtype=L.float64),
    lambda L: L.ones(2, dtype=L.float16),
    lambda L: L.ones(2, dtype=L.int32),
    lambda L: L.tensor(1.5, dtype=L.float64),
    lambda L: L.tensor(3, dtype=L.int32),
    lambda L: L.tensor(False),
    lambda L: L.tensor([1.5, 2.25], dtype=L.float16),
    lambda L: L.tensor([1.5, 2.0], requires_grad=True),
    lambda L: L.tensor([1.5, 2.0], dtype=L.float64, requires_grad=True),
    lambda L: L.tensor(2.0, requires_grad=True),
    lambda L: L.arange(20.0),
    lambda L: L.arange(1000),
    lambda L: L.arange(1001),
    lambda L: L.arange(1001.0),
    lambda L: L.arange(2000.0).reshape(40, 50),
    lambda L: L.arange(30.0).reshape(2, 15) / 7,
    lambda L: L.arange(4000.0).reshape(10, 20, 20) / 3,
    lambda L: L.arange(24).reshape(2, 3, 4),
    lambda L: L.arange(-6, 6).reshape(3, 4) * 1000000007,
]


@pytest.mark.parametrize("make", MADE)
def test_repr_of_made_tensors_matches_torch(make):
    assert repr(make(ember)) == repr(make(torch)).replace("torch.", "ember.")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    "shape", [(), (7,), (3, 4), (2, 3, 4), (40, 40), (3, 400), (1200,)], ids=str
)
def test_repr_of_random_tensors_matches_torch(shape, seed):
    rng = np.random.default_rng(seed)
    scale = [1.0, 1000.0, 1e-6, 1e12, 1.0, 1.0][seed]
    a = np.asarray(rng.standard_normal(shape) * scale)
    a = a.astype([np.float32, np.float32, np.float32, np.float32, np.float16, np.float64][seed])
    if seed == 4:
        a = np.round(a * 10)
    assert repr(ember.tensor(a)) == repr(torch.tensor(a)).replace("torch.", "ember.")
    ints = rng.integers(-500, 500, shape)
    assert repr(ember.tensor(ints)) == repr(torch.tensor(ints)).replace("torch.", "ember.")


def test_repr_with_grad_fn_matches_torch_before_the_grad_fn():
    def make(L):
        x = L.tensor([[0.5, 1.0], [2.0, 3.0]], requires_grad=True)
        return x * 2

    e, t = repr(make(ember)), repr(make(torch))
    assert e.startswith("tensor([[1., 2.],\n        [4., 6.]], grad_fn=<Mul")
    assert e.split("grad_fn=")[0] == t.split("grad_fn=")[0]


def test_repr_follows_default_dtype():
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    try:
        for make in (
            lambda L: L.ones(2, dtype=L.float32),
            lambda L: L.ones(2),
            lambda L: L.zeros(0, dtype=L.float32),
            lambda L: L.zeros(0),
        ):
            assert repr(make(ember)) == repr(make(torch)).replace("torch.", "ember.")
    finally:
        ember.set_default_dtype(ember.float32)
        torch.set_default_dtype(torch.float32)


def test_tensors_are_not_picklable():
    import pickle

    with pytest.raises(TypeError, match="ember tensors are not picklable"):
        pickle.dumps(ember.ones(2))
