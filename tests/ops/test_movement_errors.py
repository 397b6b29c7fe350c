"""Movement ops reject what PyTorch rejects, with messages naming the op and the shapes."""

import pytest
import torch

import ember
from ember.errors import EmberIndexError, EmberValueError

IDX, SHP, VAL, TYP = EmberIndexError, ember.ShapeError, EmberValueError, ember.DTypeError
ERRORS = [
    (
        lambda L: L.ones(2, 3).transpose(0, 2),
        IDX,
        r"transpose: dim 2 is out of range for a tensor of 2 dimensions "
        r"\(expected a dim in \[-2, 1\]",
    ),
    (lambda L: L.ones(2, 3).permute(0, 0), SHP, r"permute: dim 0 appears multiple times"),
    (lambda L: L.ones(2, 3).permute(0), SHP, r"permute: dims \(0,\) is not a permutation of 2"),
    (
        lambda L: L.ones(2, 3).flatten(1, 0),
        SHP,
        r"flatten: start_dim 1 comes after end_dim 0 for shape \(2, 3\)",
    ),
    (lambda L: L.ones(2, 3).flatten(3), IDX, r"flatten: dim 3 is out of range"),
    (
        lambda L: L.ones(2, 3).unflatten(1, (2, 2)),
        SHP,
        r"unflatten: sizes \[2, 2\] don't multiply up to the size of dim 1 \(3\) of input shape "
        r"\(2, 3\)",
    ),
    (lambda L: L.ones(2, 4).unflatten(1, (-1, -1)), SHP, r"unflatten: sizes \[-1, -1\]"),
    (lambda L: L.ones(2, 3).unflatten(1, ()), SHP, r"unflatten: sizes must be non-empty"),
    (lambda L: L.ones(2, 1).squeeze((1, 1)), SHP, r"squeeze: dim 1 appears multiple times"),
    (lambda L: L.ones(2, 1).squeeze(2), IDX, r"squeeze: dim 2 is out of range"),
    (
        lambda L: L.ones(2, 1).unsqueeze(3),
        IDX,
        r"unsqueeze: dim 3 is out of range for a tensor of 3 dimensions",
    ),
    (
        lambda L: L.ones(2, 3).movedim((0, 1), (1,)),
        SHP,
        r"movedim: source \(0, 1\) and destination \(1,\) must name the same number of dims",
    ),
    (lambda L: L.ones(2, 3).movedim((0, 1), (1, 1)), SHP, r"movedim: dim 1 appears multiple"),
    (
        lambda L: L.ones(2, 3).repeat(2),
        SHP,
        r"repeat: the number of repeat dims \(1\) can not be smaller than the number of dimensions "
        r"of the tensor \(2, shape \(2, 3\)\)",
    ),
    (lambda L: L.ones(3).repeat(2, -1), SHP, r"repeat: repeats must be non-negative, got \(2, -1"),
    (lambda L: L.ones(3).tile(-1), SHP, r"tile: repeats must be non-negative"),
    (lambda L: L.ones(3).repeat_interleave(-1), SHP, r"repeat_interleave: repeats must be non-"),
    (
        lambda L: L.tensor(2.0).repeat_interleave(2, dim=0),
        IDX,
        r"repeat_interleave: dim 0 is out of range for a 0-d tensor",
    ),
    (lambda L: L.ones(2, 3).flip(0, 0), SHP, r"flip: dim 0 appears multiple times"),
    (lambda L: L.ones(2, 3).flip(2), IDX, r"flip: dim 2 is out of range"),
    (lambda L: L.ones(3).fliplr(), SHP, r"fliplr: input must be at least 2-D, got shape \(3,\)"),
    (lambda L: L.tensor(1.0).flipud(), SHP, r"flipud: input must be at least 1-D, got shape \(\)"),
    (
        lambda L: L.ones(2, 3).roll((1, 2), (0,)),
        SHP,
        r"roll: shifts \(1, 2\) and dims \(0,\) must have the same length",
    ),
    (lambda L: L.ones(2, 3).roll((1, 2)), SHP, r"roll: shifts \(1, 2\) need dims"),
    (lambda L: L.ones(2, 3).roll(1, 2), IDX, r"roll: dim 2 is out of range"),
    (lambda L: L.tensor(1.0).roll(1, 0), IDX, r"roll: dims 0 given but the tensor has no dim"),
    (lambda L: L.ones(3).tril(), SHP, r"tril: input must have at least 2 dimensions, got shape"),
    (lambda L: L.tensor(1.0).triu(), SHP, r"triu: input must have at least 2 dimensions"),
    (
        lambda L: L.ones(2, 3).diagonal(0, 1, -1),
        SHP,
        r"diagonal: dims 1 and -1 must name two different dims of shape \(2, 3\)",
    ),
    (lambda L: L.ones(2, 3).diagonal(0, 0, 2), IDX, r"diagonal: dim 2 is out of range"),
    (lambda L: L.ones(2, 3, 4).diag(), SHP, r"diag: supports 1-D or 2-D tensors, got shape"),
    (lambda L: L.tensor(1.0).diag(), SHP, r"diag: supports 1-D or 2-D tensors, got shape \(\)"),
    (lambda L: L.ones(3).diag_embed(0, 0, 0), SHP, r"diag_embed: dims 0 and 0 must name two"),
    (
        lambda L: L.cat([L.ones(2, 3), L.ones(2, 4)]),
        SHP,
        r"cat: sizes of tensors must match except in dimension 0: tensor 0 has shape \(2, 3\) but "
        r"tensor 1 has shape \(2, 4\) \(size 4 != 3 in dim 1\)",
    ),
    (
        lambda L: L.cat([L.ones(2, 3), L.ones(4, 3), L.ones(2, 2)], 1),
        SHP,
        r"cat: sizes of tensors must match except in dimension 1: tensor 0 has shape \(2, 3\) but "
        r"tensor 1 has shape \(4, 3\) \(size 4 != 2 in dim 0\)",
    ),
    (
        lambda L: L.cat([L.ones(2, 3), L.ones(3)]),
        SHP,
        r"cat: tensors must have the same number of dimensions: tensor 0 has shape \(2, 3\) but "
        r"tensor 1 has shape \(3,\)",
    ),
    (lambda L: L.cat([L.ones(2, 3), L.ones(2, 3)], 2), IDX, r"cat: dim 2 is out of range"),
    (
        lambda L: L.cat([L.ones(2), L.tensor(1.0)]),
        SHP,
        r"cat: zero-dimensional tensor \(at position 1\) cannot be concatenated",
    ),
    (lambda L: L.cat([]), VAL, r"cat: expected a non-empty sequence of tensors"),
    (lambda L: L.cat([L.ones(2), [1.0]]), TYP, r"cat: expected a Tensor as element 1, got list"),
    (
        lambda L: L.stack([L.ones(2, 3), L.ones(2, 4)]),
        SHP,
        r"stack: expects each tensor to be equal size, but got \(2, 3\) at entry 0 and \(2, 4\) at "
        r"entry 1",
    ),
    (lambda L: L.stack([]), VAL, r"stack: expected a non-empty sequence"),
    (lambda L: L.stack([L.ones(2)], 2), IDX, r"stack: dim 2 is out of range"),
    (
        lambda L: L.ones(5).split([2, 2]),
        SHP,
        r"split: split sizes \[2, 2\] must sum exactly to 5 \(the size of dim 0 of shape \(5,\)\), "
        r"but they sum to 4",
    ),
    (lambda L: L.ones(5).split([2, -1, 4]), SHP, r"split: split sizes must be non-negative"),
    (lambda L: L.ones(5).split(-1), SHP, r"split: split_size must be non-negative, got -1"),
    (
        lambda L: L.ones(5).split(0),
        SHP,
        r"split: split_size can only be 0 if the dim size is 0, but dim 0 of shape \(5,\) has size",
    ),
    (lambda L: L.tensor(1.0).split(1), SHP, r"split: expects at least a 1-dimensional tensor"),
    (lambda L: L.ones(5).split(2, 1), IDX, r"split: dim 1 is out of range"),
    (
        lambda L: L.ones(2, 3).select(1, 3),
        IDX,
        r"select: index 3 is out of range for dim 1 of size 3 \(shape \(2, 3\)\)",
    ),
    (lambda L: L.ones(2, 3).select(2, 0), IDX, r"select: dim 2 is out of range"),
    (lambda L: L.tensor(1.0).select(0, 0), IDX, r"select: dim 0 given but the tensor has no"),
    (lambda L: L.ones(5).chunk(0), VAL, r"chunk: chunks must be greater than 0, got 0"),
    (lambda L: L.tensor(1.0).chunk(2), SHP, r"chunk: expects at least a 1-dimensional tensor"),
    (lambda L: L.tensor(1.0).unbind(0), IDX, r"unbind: dim 0 given but the tensor has no dim"),
    (lambda L: L.ones(2, 3).unbind(2), IDX, r"unbind: dim 2 is out of range"),
    (
        lambda L: L.ones(5).narrow(0, 3, 3),
        SHP,
        r"narrow: start \(3\) \+ length \(3\) exceeds the size \(5\) of dim 0 of shape \(5,\)",
    ),
    (
        lambda L: L.ones(5).narrow(0, 6, 0),
        IDX,
        r"narrow: start 6 is out of range for dim 0 of size 5 \(expected a start in \[-5, 5\]\)",
    ),
    (lambda L: L.ones(5).narrow(0, 2, -1), SHP, r"narrow: length must be non-negative, got -1"),
    (lambda L: L.tensor(1.0).narrow(0, 0, 1), SHP, r"narrow: cannot be applied to a 0-dim"),
    (lambda L: L.ones(2, 3).view(4, 2), SHP, r"view: shape \(4, 2\) is invalid for input of size"),
    (lambda L: L.ones(2, 3).reshape("x"), SHP, r"reshape: a shape is a sequence of ints, got"),
    (lambda L: L.ones(2, 3).reshape(-1, -1), SHP, r"reshape: only one dimension can be inferred"),
    (
        lambda L: L.ones(2, 3).t().view(6),
        SHP,
        r"view: view size \(6,\) is not compatible with input tensor's size \(3, 2\)",
    ),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors(i):
    fn, exc, match = ERRORS[i]
    with pytest.raises(Exception):  # noqa: B017 - PyTorch rejects the same call
        fn(torch)
    with pytest.raises(exc, match=match):
        fn(ember)


def test_per_element_repeats_not_supported():
    with pytest.raises(EmberValueError, match=r"repeat_interleave: a tensor of per-element"):
        ember.ones(2).repeat_interleave(ember.tensor([1, 2]))
