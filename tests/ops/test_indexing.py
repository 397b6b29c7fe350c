"""``x[key]`` and ``x[key] = v`` against PyTorch (and NumPy for negative slice steps)."""

import numpy as np
import pytest
import torch

import ember
from ember.testing.optest import OpCase, params, run_case

FLOATS = ("float16", "float32", "float64")
ALL = FLOATS + ("int32", "int64")
X = ((3, 4, 5),)


def _data(rng, dtype, shape):
    if np.dtype(dtype).kind == "f":
        return rng.uniform(-2, 2, shape).astype(dtype)
    return rng.integers(-5, 6, shape).astype(dtype)


def with_(*extras):
    """Inputs: x (of the case dtype and shape) followed by fixed index arrays/masks."""

    def make(rng, dtype, shapes):
        return [_data(rng, dtype, shapes[0])] + [np.array(e) for e in extras]

    return make


def get(name, key, shapes=(X,), dtypes=ALL, **kw):
    """x[key] with a key that means the same to both libraries."""
    return OpCase(
        name,
        lambda x: x[key],
        lambda x: x[key],
        make=with_(),
        shapes=list(shapes),
        dtypes=dtypes,
        **kw,
    )


def get_np(name, key, shapes=(X,), dtypes=ALL):
    """x[key] against NumPy (negative steps, which PyTorch rejects)."""
    return OpCase(
        name,
        lambda x: x[key],
        np_ref=lambda x: x[key],
        make=with_(),
        shapes=list(shapes),
        dtypes=dtypes,
    )


def fn(name, f, *extras, shapes=(X,), dtypes=ALL, **kw):
    """f(x, *index_tensors): the same code runs on ember and torch tensors."""
    return OpCase(name, f, f, make=with_(*extras), shapes=list(shapes), dtypes=dtypes, **kw)


MASK1 = [True, False, True]
MASK2 = np.array([[1, 0, 0, 1, 1], [0, 0, 0, 0, 1], [1, 1, 1, 0, 0], [0, 1, 0, 1, 0]], bool)

BASIC = [
    get("int", 1),
    get("int_neg", -1),
    get("int_pair", (1, -2)),
    get("int_all", (2, -4, 3)),
    get("slice", slice(1, 3)),
    get("slice_step", (slice(None), slice(None, None, 2))),
    get("slice_clip", (slice(-10, 10), slice(2, 100))),
    get("slice_empty", slice(2, 1)),
    get("ellipsis_last", (Ellipsis, 1)),
    get("ellipsis_mid", (0, Ellipsis, slice(1, -1))),
    get("none", None),
    get("none_mid", (slice(None), None, 1)),
    get("none_end", (Ellipsis, None)),
    get("mixed", (slice(1, None), None, -1, slice(None, 3))),
    get("ellipsis_only", Ellipsis, shapes=(X, ((),))),
    get("zero_dim_none", None, shapes=(((),),)),
    get("size0", (slice(None), 1), shapes=(((0, 3),),)),
    get_np("neg_step", slice(None, None, -1)),
    get_np("neg_step2", (slice(None), slice(None, None, -2), slice(4, 0, -3))),
    get_np("neg_step_empty", slice(0, 2, -1)),
    get_np("neg_step_mixed", (1, slice(-1, None, -1), None)),
]

ADVANCED = [
    fn("idx_tensor", lambda x, i: x[i], [0, 2, -1, 0]),
    fn("idx_2d", lambda x, i: x[i], [[0, 1], [2, -3]]),
    fn("idx_int32", lambda x, i: x[i], np.array([2, 0, 0], np.int32)),
    fn("idx_dim1", lambda x, i: x[:, i], [3, 0, 3, -1]),
    fn("idx_last", lambda x, i: x[..., i], [[4, 0], [1, 1]]),
    fn("idx_empty", lambda x, i: x[i], np.zeros(0, np.int64)),
    fn("idx_pair", lambda x, i, j: x[i, j], [[0], [2]], [1, 3, 3]),
    fn("idx_apart", lambda x, i, j: x[i, :, j], [0, 2, 2], [4, 0, 4]),
    fn("idx_int_then_arr", lambda x, i: x[1, :, i], [0, 4, 4]),
    fn("idx_arr_int_arr", lambda x, i: x[i, 1, i], [0, 2, 1]),
    fn("idx_slice_arr", lambda x, i: x[1:, i, ::2], [3, 3, 0]),
    fn("idx_none_arr", lambda x, i: x[None, i, None], [1, 1]),
    fn("idx_zero_dim_tensor", lambda x, i: x[:, i], 2),
    fn("idx_zero_dim_mixed", lambda x, i, j: x[i, :, j], 1, [0, 4]),
    fn("list", lambda x: x[[0, 0, 2]]),
    fn("list_tuple", lambda x: x[[0, -1], [1, 1]]),
    fn("list_empty", lambda x: x[[]]),
    fn("size0_idx", lambda x, i: x[i], [0, 0], shapes=(((2, 0),),)),
    fn("mask_full", lambda x, m: x[m], np.arange(60).reshape(3, 4, 5) % 3 == 0),
    fn("mask_dim0", lambda x, m: x[m], MASK1),
    fn("mask_trailing", lambda x, m: x[:, m], MASK2),
    fn("mask_none_true", lambda x, m: x[m], np.zeros(3, bool)),
    fn("mask_list", lambda x: x[[True, True, False]]),
    fn("mask_and_idx", lambda x, m, i: x[m, :, i], MASK1, [1, 4]),
    fn("bool_true", lambda x: x[True]),
    fn("bool_false", lambda x: x[False]),
    fn("bool_mixed", lambda x, i: x[:, i, True], [0, 3]),
    fn("bool_tensor", lambda x, b: x[1, b], True),
    fn("bool_zero_dim_x", lambda x: x[True], shapes=(((),),)),
]


def _np_index(x):
    return x[np.array([2, 0, 2])]


def _torch_np_index(x):
    return x[torch.tensor([2, 0, 2])]


ADVANCED.append(OpCase("numpy_index", _np_index, _torch_np_index, make=with_(), shapes=[X]))


@pytest.mark.parametrize("case, dtype", params(BASIC + ADVANCED))
def test_getitem(case, dtype):
    run_case(case, dtype)


# ---- repeated indices and the scatter-add kernels -------------------------------------------


def _rand_idx(n, size, seed):
    return np.random.default_rng(seed).integers(-n, n, size)


REPEATS = [
    # flat np.add.at for 1-D rows, vectorised passes for few repeats, flat add.at for many,
    # and the general position path for non-adjacent dims or a sliced view
    fn("rep_1d", lambda x, i: x[i], _rand_idx(6, 40, 0), shapes=(((6,),),)),
    fn("rep_few", lambda x, i: x[i], _rand_idx(7, 12, 1), shapes=(((7, 9),),)),
    fn("rep_many", lambda x, i: x[i], [1] * 40 + [0, 2], shapes=(((4, 3),),)),
    fn("rep_dim1", lambda x, i: x[:, i], [1] * 20 + [0, 2], shapes=(((2, 3, 4),),)),
    fn("rep_pair", lambda x, i, j: x[i, j], [[0, 0, 1]] * 3, [2, 2, 2], shapes=(((2, 3, 4),),)),
    fn("rep_sliced", lambda x, i: x[1:, i], [0, 0, 3], shapes=(((3, 4),),)),
    fn("rep_apart", lambda x, i: x[i, :, i], [0, 0, 1], shapes=(((2, 3, 4),),)),
]


@pytest.mark.parametrize("case, dtype", params(REPEATS))
def test_getitem_repeated_indices(case, dtype):
    run_case(case, dtype)


# ---- setitem ---------------------------------------------------------------------------------


def setter(key_fn, value=None):
    """clone x, then y[key] = v (a tensor input, or the constant ``value``)."""

    def f(x, *rest):
        y = x.clone()
        if value is None:
            *idx, v = rest
        else:
            idx, v = rest, value
        y[key_fn(*idx)] = v
        return y

    return f


def set_case(name, key_fn, vshape, *extras, shapes=(X,), value=None, dtypes=ALL, **kw):
    def make(rng, dtype, s):
        out = [_data(rng, dtype, s[0])] + [np.array(e) for e in extras]
        return out if value is not None else out + [_data(rng, dtype, vshape)]

    f = setter(key_fn, value)
    return OpCase(name, f, f, make=make, shapes=list(shapes), dtypes=dtypes, **kw)


SETS = [
    set_case("set_int", lambda: 1, (4, 5)),
    set_case("set_int_broadcast", lambda: -1, (5,)),
    set_case("set_scalar", lambda: (0, slice(1, 3)), None, value=2.5),
    set_case("set_int_scalar", lambda: (1, 2), None, value=7),
    set_case("set_slice", lambda: (slice(None), slice(None, None, 2)), (3, 1, 5)),
    set_case("set_zero_dim", lambda: (1, 2, 3), ()),
    set_case("set_leading_ones", lambda: slice(0, 2), (1, 1, 4, 5)),
    set_case("set_none", lambda: (None, 0), (1, 4, 5)),
    set_case("set_ellipsis", lambda: (Ellipsis, 0), (3, 1)),
    set_case("set_idx", lambda i: i, (2, 4, 5), [2, -3]),
    set_case("set_idx_broadcast", lambda i: (slice(None), i), (5,), [3, 0, 1]),
    set_case("set_pair", lambda i, j: (i, j), (2, 1), [0, 2], [1, 3]),
    set_case("set_apart", lambda i, j: (i, 1, j), (2,), [0, 2], [1, 3]),
    set_case("set_idx_scalar", lambda i: (i, 0), None, [1, 0], value=-3.0),
    set_case("set_mask", lambda m: m, (), MASK1),
    set_case("set_mask_values", lambda m: (1, m), (9,), MASK2),
    set_case("set_mask_scalar", lambda m: m, None, MASK1, value=0),
    set_case("set_bool", lambda: True, (1, 3, 4, 5)),
    set_case("set_list", lambda: [0, 2], (4, 5)),
]


@pytest.mark.parametrize("case, dtype", params(SETS))
def test_setitem(case, dtype):
    run_case(case, dtype)


def test_setitem_value_dtype_cast_like_torch():
    for dt in ("int64", "float16", "float64"):
        x, t = ember.zeros(4), torch.zeros(4)
        v = np.array([1.7, -2.2])
        x[1:3] = ember.tensor(v, dtype=getattr(ember, dt))
        t[1:3] = torch.tensor(v, dtype=getattr(torch, dt))
        np.testing.assert_array_equal(x.numpy(), t.numpy())
    y, u = ember.zeros(3, dtype=ember.int64), torch.zeros(3, dtype=torch.int64)
    y[0], u[0] = 2.7, 2.7
    y[[1, 2]], u[[1, 2]] = -1.5, -1.5
    y[True], u[True] = ember.tensor([3.5] * 3), torch.tensor([3.5] * 3)
    assert y.tolist() == u.tolist()


def test_advanced_setitem_value_dtype_must_match():
    with pytest.raises(
        ember.DTypeError,
        match="setitem: index put requires the source and "
        "destination dtypes to match, got int64 for the destination and float32",
    ):
        ember.zeros(3, dtype=ember.int64)[[1, 2]] = ember.tensor([-1.5, 3.9])


def test_setitem_gradients_match_torch_inplace_on_leaf_clone():
    rng = np.random.default_rng(0)
    a, b, c = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(())

    def run(lib, mk):
        x, v, s = mk(a), mk(b), mk(c)
        y = x.clone() * 2
        y[1] = v * s  # basic
        y[lib.tensor([0, 3]), 2] = s  # advanced, 0-dim value broadcast
        y[1:3, :2] = y[2:4, 1:] + 1.0  # reads before it writes
        (y * y).sum().backward()
        return x.grad, v.grad, s.grad

    got = run(ember, lambda z: ember.tensor(z, requires_grad=True))
    exp = run(torch, lambda z: torch.tensor(z, requires_grad=True))
    for g, e in zip(got, exp):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-12)


# ---- views, version counters, autograd rules ---------------------------------------------------


def test_basic_index_is_a_view_sharing_the_version_counter():
    x = ember.arange(12.0).reshape(3, 4)
    for v in (x[1], x[:, 0], x[1:, ::2], x[None, 2, ...], x[ember.tensor(1)], x[2, 3]):
        assert np.shares_memory(v.numpy(), x.numpy())
        before = x._version
        v.add_(1.0)
        assert x._version == v._version == before + 1
    y, t = ember.arange(12.0).reshape(3, 4), torch.arange(12.0).reshape(3, 4)
    for z in (y, t):
        z[1][2] = 100.0  # writes through the view
        z[:, 0][1:] = -1.0
        z[2, ...].mul_(2.0)
    np.testing.assert_array_equal(y.numpy(), t.numpy())


def test_advanced_index_is_a_copy():
    x = ember.arange(6.0)
    for v in (x[[0, 1]], x[ember.tensor([True] * 6)], x[True]):
        v.add_(10.0)
    assert x.tolist() == list(range(6))


def test_setitem_writes_storage_and_bumps_version():
    x = ember.zeros(2, 3)
    view = x[1]
    v0 = x._version
    x[1, [0, 2]] = 5.0
    assert view.tolist() == [5.0, 0.0, 5.0]
    assert x._version == view._version == v0 + 1
    x[0] = ember.ones(3)
    assert x._version == v0 + 2
    view[1] = 7.0  # through the view into x
    assert x.tolist() == [[1.0, 1.0, 1.0], [5.0, 7.0, 5.0]]
    x[ember.tensor([[True, False, False], [False, False, True]])] = -2.0
    assert view.tolist() == [5.0, 7.0, -2.0] and x[0, 0].item() == -2.0
    assert x._version == view._version == v0 + 4


def test_setitem_after_save_raises_at_backward_like_torch():
    w = ember.ones(3, requires_grad=True)
    y = w * 2
    z = y * y  # saves y
    y[0] = 5.0
    with pytest.raises(ember.AutogradError, match="modified by an in-place operation"):
        z.sum().backward()


def test_setitem_on_leaf_requiring_grad_raises():
    x = ember.zeros(3, requires_grad=True)
    with pytest.raises(ember.AutogradError, match="setitem: a leaf tensor that requires grad"):
        x[0] = 1.0
    with ember.no_grad():
        x[0] = 1.0
    assert x.tolist() == [1.0, 0.0, 0.0]


def test_setitem_on_view_while_recording_raises():
    x = ember.zeros(2, 3, requires_grad=True).clone()
    with pytest.raises(ember.AutogradError, match="setitem: in-place operation on a view"):
        x[0][1] = 1.0


def test_setitem_into_plain_buffer_records_graph():
    h = ember.tensor([1.0, 2.0], requires_grad=True)
    ht = torch.tensor([1.0, 2.0], requires_grad=True)
    outs = []
    for lib, v in ((ember, h), (torch, ht)):
        buf = lib.zeros(3, 2)
        for t in range(3):
            buf[t] = v * (t + 1)
        (buf * buf).sum().backward()
        outs.append(v.grad.numpy())
    assert ember.zeros(1).requires_grad is False
    np.testing.assert_allclose(outs[0], outs[1])


def test_getitem_second_order_with_repeats():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    xt = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    res = []
    for lib, z in ((ember, x), (torch, xt)):
        y = (z[[0, 0, 2]] ** 3).sum()
        (g,) = (ember.autograd if lib is ember else torch.autograd).grad(y, z, create_graph=True)
        (g * g).sum().backward()
        res.append((g.detach().numpy(), z.grad.numpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b)


# ---- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, err, msg",
    [
        (5, ember.EmberIndexError, r"getitem: index 5 is out of bounds for dim 0 with size 3"),
        ((0, -6), ember.EmberIndexError, r"getitem: index -6 is out of bounds for dim 1 with size"),
        (
            (slice(None), [0, 7]),
            ember.EmberIndexError,
            r"getitem: index 7 is out of bounds for "
            r"dim 1 with size 4",
        ),
        (([0], 1, [-6]), ember.EmberIndexError, r"getitem: index -6 is out of bounds for dim 2"),
        (
            (0, 0, 0, 0),
            ember.EmberIndexError,
            r"getitem: too many indices for tensor of "
            r"dimension 3",
        ),
        (
            (Ellipsis, 0, Ellipsis),
            ember.EmberIndexError,
            r"getitem: an index can only have a "
            r"single ellipsis",
        ),
        (slice(None, None, 0), ember.ShapeError, r"getitem: slice step cannot be zero"),
        (1.5, ember.DTypeError, r"getitem: only integers, slices .* \(got float\)"),
        (
            ([1.0],),
            ember.DTypeError,
            r"getitem: tensors used as indices must be int32, int64 or "
            r"bool tensors, got float32",
        ),
        ("a", ember.DTypeError, r"getitem: .*valid indices \(got str\)"),
        (
            [True, False],
            ember.EmberIndexError,
            r"getitem: the shape of the mask \(2,\) at index 0 "
            r"does not match the shape of the indexed tensor \(3, 4, 5\) at dim 0",
        ),
        (
            (0, [[True] * 5] * 3),
            ember.EmberIndexError,
            r"the shape of the mask \(3, 5\) at index 1 "
            r"does not match .* at dim 1",
        ),
        (
            ([0, 1], [0, 1, 2]),
            ember.EmberIndexError,
            r"getitem: shape mismatch: indexing tensors "
            r"could not be broadcast together with shapes \(2,\), \(3,\)",
        ),
        (
            [[0, 1], [1, 0]],
            ember.EmberIndexError,
            r"getitem: a list holding sequences.* is "
            r"ambiguous",
        ),
    ],
)
def test_getitem_errors(key, err, msg):
    x = ember.zeros(3, 4, 5)
    with pytest.raises(err, match=msg):
        x[key]
    if not isinstance(key, str):
        with pytest.raises(err, match=msg.replace("getitem", "setitem")):
            x[key] = 0.0


def test_getitem_index_tensor_errors():
    x = ember.zeros(3, 4, requires_grad=True)
    for z in (x, x.detach()):
        with pytest.raises(
            ember.EmberIndexError, match="getitem: index 3 is out of bounds for dim 0 with size 3"
        ):
            z[ember.tensor([0, 3])]
        with pytest.raises(
            ember.EmberIndexError, match="getitem: index -4 is out of bounds for dim 0 with size 3"
        ):
            z[ember.tensor([-4], dtype=ember.int32)]
        with pytest.raises(
            ember.DTypeError,
            match="getitem: tensors used as indices must be "
            "int32, int64 or bool tensors, got float32",
        ):
            z[ember.tensor([0.0])]
        with pytest.raises(
            ember.EmberIndexError, match="getitem: index 9 is out of bounds for dim 1 with size 4"
        ):
            z[:, ember.tensor([9])]
    with pytest.raises(ember.EmberIndexError, match="too many indices for tensor of dimension 0"):
        ember.tensor(1.0)[ember.tensor([0])]


def test_setitem_errors():
    x = ember.zeros(3, 4)
    with pytest.raises(
        ember.ShapeError,
        match=r"setitem: shape mismatch: value tensor of shape "
        r"\(3,\) cannot be broadcast to indexing result of shape \(4,\)",
    ):
        x[0] = ember.ones(3)
    with pytest.raises(
        ember.ShapeError,
        match=r"setitem: shape mismatch: value tensor of shape "
        r"\(3, 4\) cannot be broadcast to indexing result of shape \(2, 4\)",
    ):
        x[[0, 1]] = ember.ones(3, 4)
    with pytest.raises(
        ember.ShapeError,
        match=r"setitem: shape mismatch: value tensor of shape "
        r"\(2, 1, 2, 4\) cannot .* shape \(2, 4\)",
    ):
        x[0:2] = ember.ones(2, 1, 2, 4)
    m = ember.tensor([True, False, True])
    with pytest.raises(
        ember.ShapeError,
        match=r"setitem: shape mismatch: value tensor of shape \(3, 4\) cannot be broadcast to "
        r"indexing result of shape \(2, 4\)",
    ):
        x[m] = ember.ones(3, 4)
    with pytest.raises(ember.AutogradError, match="setitem: the tensor is a broadcast"):
        ember.zeros(4).expand(3, 4)[m] = 1.0
    with pytest.raises(ember.DTypeError, match="setitem: index put requires the source and "):
        x[m] = ember.ones(4, dtype=ember.float64)
    with pytest.raises(ember.DTypeError, match="setitem: can't assign a list to a tensor"):
        x[0] = [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ember.AutogradError, match="setitem: the tensor is a broadcast"):
        ember.zeros(4).expand(3, 4)[0, 0] = 1.0
    y = ember.zeros(3, 4).clone()
    v = ember.ones(3, requires_grad=True)
    with pytest.raises(
        ember.ShapeError,
        match=r"setitem: shape mismatch: value tensor of shape "
        r"\(3,\) cannot be broadcast to indexing result of shape \(4,\)",
    ):
        y[0] = v
