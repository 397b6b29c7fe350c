"""Creation functions against PyTorch: dtype inference, shapes, values and errors."""

import numpy as np
import pytest
import torch

import ember
from ember.errors import EmberValueError
from ember.testing import assert_close


def same(got, expected, exact=True):
    """ember tensor ``got`` equals torch tensor ``expected`` in shape, dtype and values (exact,
    close when ``exact`` is False, not compared when None: uninitialised memory)."""
    assert isinstance(got, ember.Tensor)
    assert got.dtype.name == str(expected.dtype).replace("torch.", "")
    assert tuple(got.shape) == tuple(expected.shape)
    if exact:
        assert got.tolist() == expected.tolist()
    elif exact is False:
        assert_close(got, expected, rtol=1e-6, atol=1e-6)


DATA = [
    True,
    7,
    2.5,
    [True, False],
    [1, 2, 3],
    [1, 2.0],
    [True, 2],
    [1.5, True],
    [[1, 2], [3, 4]],
    [[True], [False]],
    (1, 2),
    [(1, 2), (3, 4)],
    [],
    [[]],
    [[], []],
    [np.int32(1), np.int32(2)],
    [np.int32(1), 2],
    [np.float64(1.5)],
    [np.float32(1.5), 2.0],
    [np.float64(1.5), np.float32(2.0)],
    [np.bool_(True)],
    [np.float16(1.0)],
    np.float64(2.0),
    np.int32(3),
]


@pytest.mark.parametrize("data", DATA, ids=repr)
def test_tensor_infers_dtype_like_torch(data):
    same(ember.tensor(data), torch.tensor(data))


NP_DTYPES = ["bool", "int32", "int64", "float16", "float32", "float64"]


@pytest.mark.parametrize("dtype", NP_DTYPES)
def test_tensor_from_numpy_array_keeps_dtype_and_copies(dtype):
    a = np.array([[1, 0, 2], [3, 4, 5]]).astype(dtype)
    t = ember.tensor(a)
    same(t, torch.tensor(a))
    a[0, 0] = 0
    assert t.tolist()[0][0] == 1  # a copy
    same(ember.tensor(a[0, 1]), torch.tensor(a[0, 1]))  # NumPy scalar
    same(ember.tensor(a.T), torch.tensor(a.T))  # non-contiguous


@pytest.mark.parametrize(
    "src, target",
    [
        ("int8", "int32"),
        ("uint8", "int32"),
        ("int16", "int32"),
        ("uint16", "int32"),
        ("uint32", "int64"),
    ],
)
def test_narrow_numpy_integers_map_to_a_supported_dtype(src, target):
    """ember has no 8/16-bit integers: values are kept exactly in the nearest wider dtype."""
    a = np.array([0, 1, 100]).astype(src)
    t = ember.tensor(a)
    assert t.dtype.name == target
    assert t.tolist() == torch.tensor(a).tolist()


def test_uint64_values_that_do_not_fit_are_rejected():
    with pytest.raises(ember.DTypeError, match="tensor: uint64 values up to 18446744073709551615"):
        ember.tensor(np.array([1, 2**64 - 1], dtype=np.uint64))


@pytest.mark.parametrize("dtype", NP_DTYPES)
def test_tensor_with_explicit_dtype(dtype):
    data = [[0, 1], [2, 3]]
    same(
        ember.tensor(data, dtype=getattr(ember, dtype)),
        torch.tensor(data, dtype=getattr(torch, dtype)),
    )
    same(
        ember.tensor([0.5, 1.5], dtype=getattr(ember, dtype)),
        torch.tensor([0.5, 1.5], dtype=getattr(torch, dtype)),
    )


def test_tensor_from_tensors():
    same(ember.tensor(ember.tensor([1, 2])), torch.tensor([1, 2]))
    same(ember.tensor([ember.tensor(1.5), ember.tensor(2.0)]), torch.tensor([1.5, 2.0]))
    src = ember.tensor([1.0, 2.0])
    copy = ember.tensor(src)
    src.add_(1)
    assert copy.tolist() == [1.0, 2.0]  # tensor() always copies


def test_tensor_requires_grad():
    t = ember.tensor([1.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf
    with pytest.raises(
        ember.DTypeError,
        match="requires_grad: only floating-point tensors can require gradients, got int64",
    ):
        ember.tensor([1], requires_grad=True)


@pytest.mark.parametrize(
    "data, match",
    [
        ("a", "tensor: cannot make a tensor from str 'a'"),
        (None, "tensor: cannot make a tensor from NoneType None"),
        ([1, "a"], "tensor: cannot make a tensor from str 'a'"),
        (1j, "tensor: cannot make a tensor from complex 1j"),
    ],
)
def test_tensor_rejects_unsupported_data(data, match):
    with pytest.raises(ember.DTypeError, match=match):
        ember.tensor(data)


def test_tensor_rejects_ragged_lists():
    with pytest.raises(ember.ShapeError, match="tensor: cannot convert data to a int64 tensor"):
        ember.tensor([[1, 2], [3]])


SIZES = [(2, 3), ((2, 3),), ([2, 3],), ((),), (0,), (3, 0, 2), (4,)]


@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
@pytest.mark.parametrize("size", SIZES, ids=repr)
def test_zeros_ones_empty_shapes(name, size):
    got = getattr(ember, name)(*size)
    expected = getattr(torch, name)(*size)
    same(got, expected, exact=None if name == "empty" else True)
    for dt in ("int32", "float64", "bool"):
        got = getattr(ember, name)(*size, dtype=getattr(ember, dt))
        same(
            got,
            getattr(torch, name)(*size, dtype=getattr(torch, dt)),
            exact=None if name == "empty" else True,
        )


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_size_errors(name):
    with pytest.raises(ember.ShapeError, match=rf"{name}: negative dimension in size \(2, -1\)"):
        getattr(ember, name)(2, -1)
    with pytest.raises(TypeError, match=rf"{name}\(\) missing required argument 'size'"):
        getattr(ember, name)()


@pytest.mark.parametrize("value", [1, 1.5, True, -3])
def test_full_infers_dtype_from_value(value):
    same(ember.full((2, 3), value), torch.full((2, 3), value))
    same(ember.full([2], value, dtype=ember.float64), torch.full([2], value, dtype=torch.float64))
    same(ember.full((2,), 1.5, dtype=ember.int64), torch.full((2,), 1.5, dtype=torch.int64))


ARANGE = [
    (5,),
    (1, 5),
    (0, 10, 3),
    (10, 0, -3),
    (0, 0),
    (1, 1),
    (2.5,),
    (0.0, 1.0, 0.1),
    (1, 2.5, 0.5),
    (0, 1, 0.3),
    (5, 1, -1.5),
    (0, 1, 1 / 3),
    (0, 0.9, 0.3),
    (-1, 1, 0.1),
    (10, 0, -2.5),
    (-3, 3.5, 0.7),
]


@pytest.mark.parametrize("args", ARANGE, ids=repr)
def test_arange_length_dtype_and_values(args):
    got, expected = ember.arange(*args), torch.arange(*args)
    same(got, expected, exact=got.dtype == ember.int64)


@pytest.mark.parametrize(
    "args, dtype",
    [
        ((5,), "float32"),
        ((0, 3), "float64"),
        ((1.5, 4), "int32"),
        ((-2.5, 3, 1.5), "int64"),
        ((3,), "float16"),
        ((0, 7, 2), "int32"),
    ],
)
def test_arange_with_dtype(args, dtype):
    """Integer dtypes truncate float bounds and step first, as PyTorch does."""
    same(
        ember.arange(*args, dtype=getattr(ember, dtype)),
        torch.arange(*args, dtype=getattr(torch, dtype)),
    )


def test_arange_accepts_zero_dim_tensors():
    same(ember.arange(ember.tensor(3)), torch.arange(torch.tensor(3)))


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((0, 1, 0), {}, "arange: step must be nonzero"),
        ((0, 5, 0.5), {"dtype": ember.int64}, "arange: step must be nonzero"),
        (
            (0, -1),
            {},
            r"arange: upper bound and lower bound inconsistent with step sign \(start=0, "
            r"end=-1, step=1\)",
        ),
        ((0, 1, -1), {}, "arange: upper bound and lower bound inconsistent with step sign"),
    ],
)
def test_arange_errors(args, kwargs, match):
    with pytest.raises(EmberValueError, match=match):
        ember.arange(*args, **kwargs)
    with pytest.raises((RuntimeError, ValueError)):  # torch raises too
        torch.arange(*args, **{k: getattr(torch, v.name) for k, v in kwargs.items()})


@pytest.mark.parametrize(
    "args",
    [(0, 1, 5), (0, 1, 1), (0, 1, 0), (-2, 3, 7), (1, 1, 3), (3, -1, 4), (0, 10, 6), (0.5, 2.5, 9)],
)
def test_linspace(args):
    same(ember.linspace(*args), torch.linspace(*args), exact=False)
    same(
        ember.linspace(*args, dtype=ember.float64),
        torch.linspace(*args, dtype=torch.float64),
        exact=False,
    )


@pytest.mark.parametrize("args", [(0, 10, 4), (-10, 0, 4), (10, 0, 4), (-1, 1, 5)])
def test_linspace_integer_dtype_truncates(args):
    same(ember.linspace(*args, dtype=ember.int64), torch.linspace(*args, dtype=torch.int64))


def test_linspace_tensor_bounds_and_errors():
    same(
        ember.linspace(ember.tensor(0.0), ember.tensor(1.0), 3),
        torch.linspace(torch.tensor(0.0), torch.tensor(1.0), 3),
        exact=False,
    )
    with pytest.raises(
        ember.ShapeError, match="linspace: number of steps must be non-negative, got -1"
    ):
        ember.linspace(0, 1, -1)


@pytest.mark.parametrize("args", [(3,), (2, 4), (4, 2), (0,), (3, 0), (0, 3), (1,)])
def test_eye(args):
    same(ember.eye(*args), torch.eye(*args))
    same(ember.eye(*args, dtype=ember.int32), torch.eye(*args, dtype=torch.int32))


def test_eye_errors():
    with pytest.raises(ember.ShapeError, match="eye: n must be greater or equal to 0, got -1"):
        ember.eye(-1)
    with pytest.raises(ember.ShapeError, match="eye: m must be greater or equal to 0, got -2"):
        ember.eye(2, -2)


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like"])
@pytest.mark.parametrize("dtype", ["int32", "float64", "bool"])
def test_like_functions(name, dtype):
    src_e = ember.tensor([[1, 2, 3], [4, 5, 6]], dtype=getattr(ember, dtype))
    src_t = torch.tensor([[1, 2, 3], [4, 5, 6]], dtype=getattr(torch, dtype))
    exact = None if name == "empty_like" else True
    same(getattr(ember, name)(src_e), getattr(torch, name)(src_t), exact)
    same(
        getattr(ember, name)(src_e, dtype=ember.float16),
        getattr(torch, name)(src_t, dtype=torch.float16),
        exact,
    )


def test_like_functions_never_copy_requires_grad():
    x = ember.ones(2, requires_grad=True)
    for fn in (ember.zeros_like, ember.ones_like, ember.empty_like, ember.rand_like):
        assert not fn(x).requires_grad
    assert ember.zeros_like(x, requires_grad=True).requires_grad


@pytest.mark.parametrize("value", [7, 2.7, True])
def test_full_like(value):
    for dt in ("int32", "float32", "bool"):
        src_e, src_t = (
            ember.zeros(2, 2, dtype=getattr(ember, dt)),
            torch.zeros(2, 2, dtype=getattr(torch, dt)),
        )
        same(ember.full_like(src_e, value), torch.full_like(src_t, value))


@pytest.mark.parametrize("dtype", NP_DTYPES)
def test_from_numpy_shares_memory(dtype):
    a = np.zeros((2, 3), dtype=dtype)
    t = ember.from_numpy(a)
    assert t.dtype.name == str(torch.from_numpy(a).dtype).replace("torch.", "")
    a[1, 2] = 1
    assert t.tolist()[1][2] == 1
    assert np.shares_memory(t.numpy(), a)


def test_from_numpy_errors():
    with pytest.raises(ember.DTypeError, match="from_numpy: NumPy dtype <U1 is not supported"):
        ember.from_numpy(np.array(["a"]))
    with pytest.raises(ember.DTypeError, match="from_numpy: expected np.ndarray, got list"):
        ember.from_numpy([1, 2])


def test_as_tensor_shares_when_it_can():
    a = np.arange(4.0)
    t = ember.as_tensor(a)
    a[0] = 9
    assert t.tolist() == torch.as_tensor(a).tolist()  # shared
    converted = ember.as_tensor(a, dtype=ember.float32)  # a conversion must copy
    same(converted, torch.as_tensor(a, dtype=torch.float32))
    a[1] = 7
    assert converted.tolist()[1] == 1.0
    x = ember.tensor([1, 2])
    assert ember.as_tensor(x) is x
    same(
        ember.as_tensor(x, dtype=ember.float64),
        torch.as_tensor(torch.tensor([1, 2]), dtype=torch.float64),
    )
    same(ember.as_tensor([1, 2.5]), torch.as_tensor([1, 2.5]))


@pytest.mark.parametrize(
    "args",
    [
        ([1, 2],),
        ([[1, 2]],),
        ((2, 3),),
        (np.array([1, 2]),),
        (np.array([1.5, 2.5]),),
        ([True, False],),
        (5,),
        (2, 3),
        (0,),
        (),
    ],
)
def test_tensor_constructor(args):
    """``Tensor(data)`` is default-float data; ``Tensor(*sizes)`` an (uninitialised in
    PyTorch, zero-filled in ember) tensor of that shape."""
    got, expected = ember.Tensor(*args), torch.Tensor(*args)
    data = args and not all(isinstance(a, int) for a in args)
    same(got, expected, exact=True if data else None)


def test_tensor_constructor_of_a_tensor_is_an_alias():
    src_t = torch.tensor([1, 2])
    src_e = ember.tensor([1, 2])
    alias_e, alias_t = ember.Tensor(src_e), torch.Tensor(src_t)
    same(alias_e, alias_t)
    alias_e.add_(1)
    alias_t.add_(1)
    same(src_e, src_t)
    assert src_e._version == src_t._version
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = ember.Tensor(x)
    assert y.requires_grad and not y.is_leaf
    (y * y).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


@pytest.mark.parametrize("arg", [2.5, True])
def test_tensor_constructor_rejects_scalars(arg):
    with pytest.raises(
        ember.DTypeError, match=f"Tensor: data must be a sequence \\(got {type(arg).__name__}\\)"
    ):
        ember.Tensor(arg)
    with pytest.raises(TypeError):
        torch.Tensor(arg)
