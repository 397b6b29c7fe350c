"""Movement (shape) ops against PyTorch: values, dtypes, views, gradients and error messages."""

import numpy as np
import pytest
import torch

import ember
from ember.testing.optest import OpCase, params, run_case

ALL = ("float16", "float32", "float64", "int32", "int64", "bool")
SHAPES = [((),), ((0,),), ((5,),), ((3, 4),), ((2, 3, 4),), ((2, 0, 3),)]
ND2 = [((3, 4),), ((2, 3, 4),), ((0, 3),), ((2, 0, 3),), ((1, 4),)]
ND1 = [((5,),), ((0,),), ((3, 4),), ((2, 3, 4),)]


def case(name, fn, ref=None, shapes=SHAPES, dtypes=ALL, **kw):
    """A case whose ember and torch calls are spelled the same (``fn`` used for both)."""
    return OpCase(name, fn, ref or fn, shapes=shapes, dtypes=dtypes, **kw)


def typed(*dtypes):
    """make(): one input per dtype, ignoring the dtype under test (for promotion cases)."""

    def make(rng, dtype, shapes):
        out = []
        for s, dt in zip(shapes, dtypes):
            if np.dtype(dt).kind == "f":
                out.append(rng.uniform(-2, 2, s).astype(dt))
            else:
                out.append(rng.integers(-3, 4, s).astype(dt))
        return out

    return make


CASES = [
    # existing views
    case("reshape", lambda x: x.reshape(-1)),
    case("reshape_2d", lambda x: x.reshape(4, -1), shapes=[((2, 3, 4),), ((3, 4),), ((4, 0),)]),
    case("view", lambda x: x.view(x.shape[0], -1), shapes=ND1[2:] + [((2, 0),)]),
    case("permute", lambda x: x.permute(2, 0, 1), shapes=[((2, 3, 4),), ((2, 0, 3),)]),
    case("permute_neg", lambda x: x.permute(-1, 0), shapes=[((3, 4),), ((0, 2),)]),
    case("expand", lambda x: x.expand(2, -1, 3), shapes=[((4, 1),), ((0, 1),), ((1, 1),)]),
    case("t", lambda x: x.t(), shapes=[((),), ((5,),), ((3, 4),), ((0, 2),)]),
    case("T", lambda x: x.T, shapes=[((3, 4),), ((0, 3),), ((1, 4),)]),
    # transpose and aliases
    case("transpose", lambda x: x.transpose(0, -1)),
    case("transpose_0_1", lambda x: x.transpose(1, 0), shapes=ND2),
    case("swapaxes", lambda x: x.swapaxes(-1, -2), shapes=ND2),
    case("swapdims", lambda x: x.swapdims(0, 1), shapes=ND2),
    case(
        "fn_transpose",
        lambda x: ember.transpose(x, 0, 1),
        lambda x: torch.transpose(x, 0, 1),
        shapes=ND2,
    ),
    # flatten / unflatten / squeeze / unsqueeze
    case("flatten", lambda x: x.flatten()),
    case("flatten_1", lambda x: x.flatten(1), shapes=ND2),
    case("flatten_neg", lambda x: x.flatten(-2, -1), shapes=ND2),
    case("flatten_same", lambda x: x.flatten(0, 0), shapes=ND1),
    case(
        "fn_flatten", lambda x: ember.flatten(x, 0, 1), lambda x: torch.flatten(x, 0, 1), shapes=ND2
    ),
    case(
        "unflatten",
        lambda x: x.unflatten(-1, (2, -1)),
        shapes=[((4,),), ((3, 4),), ((0, 6),), ((2, 3, 2),)],
    ),
    case("unflatten_0", lambda x: x.unflatten(0, (1, 3, 1)), shapes=[((3,),), ((3, 2),)]),
    case(
        "squeeze",
        lambda x: x.squeeze(),
        shapes=[((),), ((1, 3, 1),), ((1,),), ((0, 1),), ((2, 3),)],
    ),
    case("squeeze_dim", lambda x: x.squeeze(0), shapes=[((),), ((1, 3),), ((3, 1),), ((0, 1),)]),
    case("squeeze_neg", lambda x: x.squeeze(-1), shapes=[((1, 3, 1),), ((3, 2),)]),
    case("squeeze_tuple", lambda x: x.squeeze((0, -1)), shapes=[((1, 3, 1),), ((1, 3, 2),)]),
    case(
        "fn_squeeze",
        lambda x: ember.squeeze(x, 1),
        lambda x: torch.squeeze(x, 1),
        shapes=[((2, 1, 3),)],
    ),
    case("unsqueeze", lambda x: x.unsqueeze(0)),
    case("unsqueeze_end", lambda x: x.unsqueeze(-1)),
    case("unsqueeze_mid", lambda x: x.unsqueeze(1), shapes=ND1),
    case("unsqueeze_neg", lambda x: x.unsqueeze(-2), shapes=ND1),
    # movedim
    case("movedim", lambda x: x.movedim(0, -1), shapes=ND1),
    case("movedim_tuple", lambda x: x.movedim((0, 1), (2, 0)), shapes=[((2, 3, 4),), ((2, 0, 3),)]),
    case(
        "moveaxis",
        lambda x: ember.moveaxis(x, -1, 0),
        lambda x: torch.moveaxis(x, -1, 0),
        shapes=ND1,
    ),
    # repeat / tile / repeat_interleave
    case(
        "repeat",
        lambda x: x.repeat(2, 1, 3),
        shapes=[((),), ((4,),), ((2, 3),), ((0, 2),), ((2, 1, 3),)],
    ),
    case("repeat_zero", lambda x: x.repeat(0, 2), shapes=[((3,),), ((2, 3),)]),
    case("repeat_ones", lambda x: x.repeat(1, 1), shapes=[((1,),), ((2, 3),)]),
    case("tile", lambda x: x.tile(2), shapes=SHAPES),
    case("tile_long", lambda x: x.tile((2, 1, 2)), shapes=[((3,),), ((2, 3),), ((0, 2),)]),
    case("fn_tile", lambda x: ember.tile(x, (3, 2)), lambda x: torch.tile(x, (3, 2)), shapes=ND1),
    case("repeat_interleave", lambda x: x.repeat_interleave(3), shapes=SHAPES),
    case("repeat_interleave_dim", lambda x: x.repeat_interleave(2, dim=1), shapes=ND2),
    case("repeat_interleave_neg", lambda x: x.repeat_interleave(2, -1), shapes=ND1),
    case("repeat_interleave_one", lambda x: x.repeat_interleave(1, 0), shapes=ND1),
    case("repeat_interleave_zero", lambda x: x.repeat_interleave(0, 0), shapes=ND1),
    case(
        "repeat_interleave_single", lambda x: x.repeat_interleave(4, 0), shapes=[((1,),), ((1, 3),)]
    ),
    # flip / roll
    case("flip", lambda x: x.flip(0), shapes=ND1),
    case("flip_many", lambda x: x.flip(0, -1), shapes=ND2),
    case("flip_none", lambda x: x.flip(()), shapes=SHAPES),
    case("fn_flip", lambda x: ember.flip(x, (-1,)), lambda x: torch.flip(x, (-1,)), shapes=ND1),
    case("flip_0d", lambda x: x.flip(0), shapes=[((),)]),
    case("fliplr", lambda x: x.fliplr(), shapes=ND2),
    case("flipud", lambda x: x.flipud(), shapes=ND1),
    case("roll_flat", lambda x: x.roll(2), shapes=SHAPES),
    case("roll_flat_neg", lambda x: x.roll(-7), shapes=SHAPES),
    case("roll_dim", lambda x: x.roll(1, 0), shapes=ND1),
    case("roll_dims", lambda x: x.roll((1, -2), (0, -1)), shapes=ND2),
    case("roll_same_dim", lambda x: x.roll((1, 2), (0, 0)), shapes=ND1),
    case("fn_roll", lambda x: ember.roll(x, 5, -1), lambda x: torch.roll(x, 5, -1), shapes=ND1),
    # triangles and diagonals
    case("tril", lambda x: x.tril(), shapes=ND2 + [((4, 3),)]),
    case("tril_pos", lambda x: x.tril(1), shapes=ND2),
    case("tril_neg", lambda x: x.tril(-2), shapes=ND2),
    case("triu", lambda x: x.triu(), shapes=ND2 + [((4, 3),)]),
    case("triu_pos", lambda x: x.triu(2), shapes=ND2),
    case("triu_neg", lambda x: ember.triu(x, -1), lambda x: torch.triu(x, -1), shapes=ND2),
    case("diagonal", lambda x: x.diagonal(), shapes=ND2 + [((4, 3),)]),
    case("diagonal_offset", lambda x: x.diagonal(1), shapes=ND2 + [((4, 3),)]),
    case("diagonal_neg_offset", lambda x: x.diagonal(-1, 0, -1), shapes=ND2 + [((4, 3),)]),
    case("diagonal_far", lambda x: x.diagonal(9), shapes=ND2),
    case("diagonal_dims", lambda x: x.diagonal(0, 2, 0), shapes=[((2, 3, 4),), ((2, 0, 3),)]),
    case("diag_vector", lambda x: x.diag(), shapes=[((3,),), ((0,),)]),
    case(
        "diag_vector_offset",
        lambda x: ember.diag(x, -2),
        lambda x: torch.diag(x, -2),
        shapes=[((3,),), ((1,),)],
    ),
    case("diag_matrix", lambda x: x.diag(1), shapes=[((3, 4),), ((4, 3),), ((0, 2),)]),
    case("diag_embed", lambda x: x.diag_embed(), shapes=ND1),
    case("diag_embed_dims", lambda x: x.diag_embed(1, 0, 2), shapes=ND1[2:]),
    case("diag_embed_neg", lambda x: x.diag_embed(-1, -1, 0), shapes=ND1),
    # narrow / split / chunk / unbind
    case("narrow", lambda x: x.narrow(0, 1, 2), shapes=[((5,),), ((3, 4),), ((3, 0, 2),)]),
    case("narrow_neg", lambda x: x.narrow(-1, -3, 2), shapes=[((5,),), ((3, 4),), ((2, 3, 4),)]),
    case("narrow_empty", lambda x: x.narrow(0, 2, 0), shapes=[((2,),), ((3, 4),)]),
    case("split", lambda x: x.split(2), shapes=ND1),
    case("split_dim", lambda x: x.split(3, dim=-1), shapes=[((3, 4),), ((2, 3, 4),), ((2, 0),)]),
    case("split_big", lambda x: x.split(9, 0), shapes=ND1),
    case("split_sizes", lambda x: x.split([1, 0, 2], 1), shapes=[((2, 3),), ((0, 3, 2),)]),
    case("split_one_piece", lambda x: x.split(2)[1], shapes=[((5,),), ((4, 3),)]),
    case(
        "fn_split",
        lambda x: ember.split(x, [3, 2]),
        lambda x: torch.split(x, [3, 2]),
        shapes=[((5,),), ((5, 2),)],
    ),
    case("split_with_sizes", lambda x: x.split_with_sizes([1, 2], -1), shapes=[((3,),), ((2, 3),)]),
    case("chunk", lambda x: x.chunk(3), shapes=ND1 + [((6,),), ((7, 2),)]),
    case(
        "chunk_dim", lambda x: x.chunk(4, -1), shapes=[((5,),), ((3, 4),), ((2, 3, 6),), ((2, 0),)]
    ),
    case("chunk_many", lambda x: x.chunk(9, 0), shapes=ND1),
    case(
        "chunk_used_twice",
        lambda x: x.chunk(2)[0] * 2 + x.chunk(2)[1],
        shapes=[((4,),), ((4, 3),)],
        dtypes=("float16", "float32", "float64", "int64"),
    ),
    case("unbind", lambda x: x.unbind(), shapes=ND1),
    case("unbind_dim", lambda x: x.unbind(-1), shapes=[((3, 4),), ((2, 3, 4),), ((0, 2),)]),
    case("fn_unbind", lambda x: ember.unbind(x, 1), lambda x: torch.unbind(x, 1), shapes=ND2),
    case(
        "fn_narrow",
        lambda x: ember.narrow(x, 1, 0, 2),
        lambda x: torch.narrow(x, 1, 0, 2),
        shapes=[((3, 4),)],
    ),
    case(
        "fn_chunk",
        lambda x: ember.chunk(x, 2, 1),
        lambda x: torch.chunk(x, 2, 1),
        shapes=[((3, 4),)],
    ),
    case("select", lambda x: x.select(0, 1), shapes=[((3,),), ((3, 4),), ((2, 0, 3),)]),
    case("select_neg", lambda x: x.select(-1, -2), shapes=[((3,),), ((3, 4),), ((2, 3, 4),)]),
    case(
        "fn_select",
        lambda x: ember.select(x, 1, 0),
        lambda x: torch.select(x, 1, 0),
        shapes=[((3, 4),), ((0, 2, 3),)],
    ),
    # contiguous
    case("contiguous", lambda x: x.transpose(0, -1).contiguous(), shapes=ND2),
]

JOIN = [
    OpCase(
        "cat",
        lambda a, b: ember.cat([a, b]),
        lambda a, b: torch.cat([a, b]),
        dtypes=ALL,
        shapes=[((2,), (3,)), ((2, 3), (4, 3)), ((0, 3), (2, 3)), ((2, 3), (0, 3))],
    ),
    OpCase(
        "cat_dim",
        lambda a, b: ember.cat((a, b), dim=-1),
        lambda a, b: torch.cat((a, b), dim=-1),
        dtypes=ALL,
        shapes=[((2, 3), (2, 1)), ((2, 3, 4), (2, 3, 0)), ((0, 3), (0, 2))],
    ),
    OpCase(
        "cat_three",
        lambda a, b, c: ember.cat([a, b, c], 1),
        lambda a, b, c: torch.cat([a, b, c], 1),
        shapes=[((2, 3, 4), (2, 1, 4), (2, 2, 4))],
    ),
    OpCase(
        "cat_one",
        lambda a: ember.cat([a]),
        lambda a: torch.cat([a]),
        dtypes=ALL,
        shapes=[((3,),), ((2, 3),)],
    ),
    OpCase(
        "cat_skips_empty",
        lambda a, b: ember.cat([a, b], 1),
        lambda a, b: torch.cat([a, b], 1),
        shapes=[((0,), (2, 3)), ((2, 3), (0,))],
    ),
    OpCase(
        "cat_all_empty",
        lambda a, b: ember.cat([a, b], 5),
        lambda a, b: torch.cat([a, b], 5),
        shapes=[((0,), (0,))],
    ),
    OpCase(
        "cat_same_tensor",
        lambda a: ember.cat([a, a * 2, a]),
        lambda a: torch.cat([a, a * 2, a]),
        shapes=[((2, 3),)],
    ),
    OpCase(
        "concat",
        lambda a, b: ember.concat([a, b], 1),
        lambda a, b: torch.concat([a, b], 1),
        shapes=[((2, 3), (2, 2))],
    ),
    OpCase(
        "concatenate",
        lambda a, b: ember.concatenate([a, b], axis=0),
        lambda a, b: torch.concatenate([a, b], axis=0),
        shapes=[((2, 3), (2, 3))],
    ),
    OpCase(
        "stack",
        lambda a, b: ember.stack([a, b]),
        lambda a, b: torch.stack([a, b]),
        dtypes=ALL,
        shapes=[((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((0, 2), (0, 2))],
    ),
    OpCase(
        "stack_dim",
        lambda a, b, c: ember.stack((a, b, c), -1),
        lambda a, b, c: torch.stack((a, b, c), -1),
        shapes=[((), (), ()), ((2, 3), (2, 3), (2, 3))],
    ),
    OpCase(
        "stack_mid",
        lambda a, b: ember.stack([a, b], 1),
        lambda a, b: torch.stack([a, b], 1),
        shapes=[((2, 3), (2, 3))],
    ),
    OpCase(
        "hstack",
        lambda a, b: ember.hstack([a, b]),
        lambda a, b: torch.hstack([a, b]),
        dtypes=ALL,
        shapes=[((), (2,)), ((2,), (3,)), ((2, 3), (2, 1))],
    ),
    OpCase(
        "vstack",
        lambda a, b: ember.vstack([a, b]),
        lambda a, b: torch.vstack([a, b]),
        dtypes=ALL,
        shapes=[((), ()), ((3,), (3,)), ((2, 3), (3,)), ((1, 2, 3), (2, 2, 3))],
    ),
    OpCase(
        "dstack",
        lambda a, b: ember.dstack([a, b]),
        lambda a, b: torch.dstack([a, b]),
        shapes=[((), ()), ((3,), (3,)), ((2, 3), (2, 3, 2))],
    ),
]

PROMOTE = (
    [
        OpCase(
            f"cat_{a}_{b}",
            lambda x, y: ember.cat([x, y]),
            lambda x, y: torch.cat([x, y]),
            shapes=[((2, 3), (1, 3))],
            make=typed(a, b),
            dtypes=("float32",),  # a label: make() picks the dtypes (no float64 gradcheck)
        )
        for a, b in [
            ("int32", "float32"),
            ("bool", "int32"),
            ("int64", "float16"),
            ("float16", "float64"),
            ("bool", "int64"),
        ]
    ]
    + [
        OpCase(
            f"stack_{a}_{b}",
            lambda x, y: ember.stack([x, y], 1),
            lambda x, y: torch.stack([x, y], 1),
            shapes=[((2, 3), (2, 3))],
            make=typed(a, b),
            dtypes=("float32",),  # a label: make() picks the dtypes (no float64 gradcheck)
        )
        for a, b in [("int32", "float32"), ("bool", "int32")]
    ]
    + [
        OpCase(
            "cat_empty_promotes",
            lambda x, y: ember.cat([x, y]),
            lambda x, y: torch.cat([x, y]),
            shapes=[((0,), (2, 3))],
            make=typed("float64", "int32"),
            dtypes=("float64",),
        ),
    ]
)


@pytest.mark.parametrize("case, dtype", params(CASES + JOIN + PROMOTE))
def test_op(case, dtype):
    run_case(case, dtype)


# ---- views share storage and version counter, as in PyTorch ----------------------------------

VIEWS = {
    "view": lambda x: x.view(4, 6),
    "reshape": lambda x: x.reshape(-1),
    "transpose": lambda x: x.transpose(0, 1),
    "permute": lambda x: x.permute(2, 0, 1),
    "t_matrix": lambda x: x.flatten(1).t(),
    "unsqueeze": lambda x: x.unsqueeze(0),
    "squeeze": lambda x: x.unsqueeze(1).squeeze(1),
    "flatten": lambda x: x.flatten(),
    "unflatten": lambda x: x.unflatten(2, (2, 2)),
    "movedim": lambda x: x.movedim(0, -1),
    "swapaxes": lambda x: x.swapaxes(0, 2),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "split_piece": lambda x: x.split(1, dim=1)[2],
    "chunk_piece": lambda x: x.chunk(2, dim=-1)[1],
    "unbind_piece": lambda x: x.unbind(0)[1],
    "select": lambda x: x.select(2, -1),
    "diagonal": lambda x: x.diagonal(0, 1, 2),
    "expand": lambda x: x.unsqueeze(0).expand(2, 2, 3, 4),
}


def _same_storage(a, b):
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


@pytest.mark.parametrize("name", list(VIEWS))
def test_view_shares_storage_and_version(name):
    fn = VIEWS[name]
    x = ember.arange(24.0).reshape(2, 3, 4)
    xt = torch.arange(24.0).reshape(2, 3, 4)
    v, vt = fn(x), fn(xt)
    assert _same_storage(vt, xt)  # the table only holds PyTorch views
    x.mul_(2)
    xt.mul_(2)
    np.testing.assert_array_equal(v.numpy(), vt.numpy())
    assert v._version == x._version == 1


@pytest.mark.parametrize(
    "name",
    ["transpose", "unsqueeze", "narrow", "split_piece", "unbind_piece", "select", "diagonal"],
)
def test_inplace_on_view_reaches_base(name):
    x = ember.zeros(2, 3, 4)
    xt = torch.zeros(2, 3, 4)
    VIEWS[name](x).add_(1)
    VIEWS[name](xt).add_(1)
    np.testing.assert_array_equal(x.numpy(), xt.numpy())
    assert x._version == 1


COPIES = {
    "flip": lambda x, lib: x.flip(0),
    "roll": lambda x, lib: x.roll(1, 0),
    "repeat": lambda x, lib: x.repeat(1, 1, 1),
    "tile": lambda x, lib: x.tile(1),
    "repeat_interleave_1": lambda x, lib: x.repeat_interleave(1, 0),
    "repeat_interleave_row": lambda x, lib: x.flatten().narrow(0, 0, 1).repeat_interleave(3),
    "cat_one": lambda x, lib: lib.cat([x]),
    "stack_one": lambda x, lib: lib.stack([x]),
    "tril": lambda x, lib: x.tril(),
    "diag": lambda x, lib: x.flatten(1).narrow(1, 0, 3).diag(),
    "flatten_noncontig": lambda x, lib: x.transpose(0, 2).flatten(),
    "reshape_noncontig": lambda x, lib: x.transpose(0, 1).reshape(-1),
    "contiguous_noncontig": lambda x, lib: x.transpose(0, 1).contiguous(),
}


@pytest.mark.parametrize("name", list(COPIES))
def test_copy_does_not_share(name):
    fn = COPIES[name]
    x = ember.arange(24.0).reshape(2, 3, 4)
    xt = torch.arange(24.0).reshape(2, 3, 4)
    c, ct = fn(x, ember), fn(xt, torch)
    assert not _same_storage(ct, xt)  # the table only holds PyTorch copies
    x.mul_(2)
    xt.mul_(2)
    np.testing.assert_array_equal(c.numpy(), ct.numpy())
    assert c._version == 0
    c.add_(1)  # copies are writable, and writing them leaves the input alone
    assert x._version == 1 and x.tolist() == xt.tolist()


def test_unused_pieces_get_no_gradient_and_used_pieces_accumulate():
    x = ember.arange(6.0).requires_grad_()
    a, b, c = x.split(2)
    (b * 3 + c.flip(0)).sum().backward()
    xt = torch.arange(6.0).requires_grad_()
    at, bt, ct = xt.split(2)
    (bt * 3 + ct.flip(0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_cat_gradient_reaches_promoted_input_in_its_dtype():
    x = ember.ones(2, dtype=ember.float16).requires_grad_()
    y = ember.cat([x, ember.ones(3, dtype=ember.float64)])
    assert y.dtype == ember.float64
    y.sum().backward()
    assert x.grad.dtype == ember.float16 and x.grad.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("name, diagonal", [("tril_", 0), ("tril_", -1), ("triu_", 1)])
def test_inplace_triangles(name, diagonal):
    a = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    x, xt = ember.tensor(a), torch.tensor(a)
    v, vt = x.transpose(0, 1), xt.transpose(0, 1)
    assert getattr(x, name)(diagonal) is x
    getattr(xt, name)(diagonal)
    np.testing.assert_array_equal(x.numpy(), xt.numpy())
    np.testing.assert_array_equal(v.numpy(), vt.numpy())
    assert x._version == v._version == 1


def test_slab_sum_is_the_sum_of_zero_padded_pieces_and_its_gradient_is_narrow():
    from ember.ops.registry import OPS

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    a[0, 0] = -0.0
    got = OPS["slab_sum"](ember.tensor(a), ember.tensor(b), dim=1, starts=(0, 5), size=9)
    want = np.pad(a, ((0, 0), (0, 6))) + np.pad(b, ((0, 0), (5, 0)))
    assert got.numpy().tobytes() == want.tobytes()  # -0.0 + 0 is 0.0, as in the add
    ta = ember.tensor(a, requires_grad=True)
    tb = ember.tensor(b, requires_grad=True)
    assert ember.testing.gradcheck(
        lambda x, y: OPS["slab_sum"](x, y, dim=1, starts=(1, 4), size=8), (ta, tb)
    )


@pytest.mark.parametrize(
    "shapes,starts,size,message",
    [
        ([(2, 3), (2, 4)], (0, 2), 9, r"slab_sum: pieces at \(0, 2\) overlap"),
        ([(2, 3), (3, 4)], (0, 3), 9, r"slab_sum: piece shapes \(2, 3\) and \(3, 4\) differ"),
        ([(2, 3), (2, 4)], (0, 6), 9, r"slab_sum: pieces at \(0, 6\) run past size 9"),
        ([(2, 3)], (0, 3), 9, r"slab_sum: 1 pieces with starts \(0, 3\)"),
    ],
)
def test_slab_sum_errors_name_the_op_and_the_layout(shapes, starts, size, message):
    from ember.ops.registry import OPS

    pieces = [ember.zeros(*s) for s in shapes]
    with pytest.raises(ember.ShapeError, match=message):
        OPS["slab_sum"](*pieces, dim=1, starts=starts, size=size)
