"""dtype objects, ``promote_types`` and the result types of binary ops against PyTorch."""

import itertools

import numpy as np
import pytest
import torch

import ember

NAMES = ("bool", "int32", "int64", "float16", "float32", "float64")
OPS = {"add": (ember.add, torch.add), "mul": (ember.mul, torch.mul)}


def e_dtype(name):
    return getattr(ember, name)


def t_dtype(name):
    return getattr(torch, name)


def t_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


@pytest.mark.parametrize("a, b", list(itertools.product(NAMES, repeat=2)))
def test_promote_types_matches_torch(a, b):
    got = ember.promote_types(e_dtype(a), e_dtype(b))
    assert got.name == t_name(torch.promote_types(t_dtype(a), t_dtype(b)))


# Operands of a binary op: a dimensioned tensor, a 0-dim tensor (of each dtype), or a Python
# scalar; each pair is checked against torch.result_type and the dtype torch's op produces.
OPERANDS = (
    [("dim", n) for n in NAMES] + [("zero", n) for n in NAMES] + [("py", v) for v in (True, 3, 2.5)]
)


def make(lib, spec):
    kind, value = spec
    if kind == "py":
        return value
    shape = (3,) if kind == "dim" else ()
    return lib.ones(shape, dtype=getattr(lib, value))


PAIRS = [(a, b) for a, b in itertools.product(OPERANDS, repeat=2) if "py" not in (a[0], b[0])]
PAIRS += [
    (a, b) for a, b in itertools.product(OPERANDS, repeat=2) if (a[0] == "py") != (b[0] == "py")
]


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("a, b", PAIRS, ids=[f"{a[0]}-{a[1]}-{b[0]}-{b[1]}" for a, b in PAIRS])
def test_binary_result_type_matches_torch(op, a, b):
    e_fn, t_fn = OPS[op]
    expected = torch.result_type(make(torch, a), make(torch, b))
    got = e_fn(make(ember, a), make(ember, b))
    assert got.dtype.name == t_name(expected)
    assert got.dtype.name == t_name(t_fn(make(torch, a), make(torch, b)).dtype)
    assert got.shape == tuple(t_fn(make(torch, a), make(torch, b)).shape)


@pytest.mark.parametrize("default", ["float64", "float16"])
def test_result_type_follows_default_dtype(default):
    """Python floats take the default dtype; int tensors + a float scalar become it."""
    prev_e, prev_t = ember.get_default_dtype(), torch.get_default_dtype()
    ember.set_default_dtype(e_dtype(default))
    torch.set_default_dtype(t_dtype(default))
    try:
        for a, b in itertools.product(OPERANDS, repeat=2):
            if a[0] == "py" and b[0] == "py":
                continue
            expected = torch.result_type(make(torch, a), make(torch, b))
            assert (make(ember, a) + make(ember, b)).dtype.name == t_name(expected), (a, b)
        assert ember.tensor([1.5]).dtype.name == t_name(torch.tensor([1.5]).dtype) == default
        assert ember.tensor([1.5], dtype=ember.float32).dtype == ember.float32
    finally:
        ember.set_default_dtype(prev_e)
        torch.set_default_dtype(prev_t)


def test_set_default_dtype_rejects_non_float():
    with pytest.raises(ember.DTypeError, match="set_default_dtype: expected a floating dtype"):
        ember.set_default_dtype(ember.int64)
    assert ember.get_default_dtype() == ember.float32


def test_dtype_objects():
    for name in NAMES:
        d = e_dtype(name)
        t = t_dtype(name)
        assert repr(d) == repr(t).replace("torch.", "ember.")
        assert d.is_floating_point == t.is_floating_point
        assert d.itemsize == t.itemsize
    assert ember.float is ember.float32 and ember.double is ember.float64
    assert ember.half is ember.float16 and ember.long is ember.int64
    assert ember.int is ember.int32 and ember.bool is ember.bool_


@pytest.mark.parametrize(
    "spec, expected",
    [
        (np.float32, "float32"),
        ("float64", "float64"),
        (np.dtype("int32"), "int32"),
        (float, "float32"),
        (int, "int64"),
        (bool, "bool"),
        (ember.float16, "float16"),
    ],
)
def test_as_dtype_accepts_common_spellings(spec, expected):
    assert ember.zeros(1, dtype=spec).dtype.name == expected


def test_unknown_dtype_is_a_dtype_error():
    with pytest.raises(ember.DTypeError, match="NumPy dtype complex128 is not supported"):
        ember.zeros(1, dtype=np.complex128)
    with pytest.raises(ember.DTypeError, match="unknown dtype 'float7'"):
        ember.zeros(1, dtype="float7")
