"""Every case of the core op tables (tests/ops) eager vs compiled vs the reference interpreter.

Each case is traced on inputs A and its cached graph run on fresh inputs B (the case's own
``make`` with another seed), forward and gradients (the backward traced into the graph), and
compared bit for bit with eager mode on B (see ``ember.testing.check_parity``). Ops whose
output shape depends on the data cannot be traced: they must raise ``TraceError`` naming the
caller's line instead of giving a graph that silently answers for the trace-time data.
"""

import importlib
import re

import numpy as np
import pytest

from ember.core.tensor import _wrap
from ember.ir import TraceError
from ember.testing import check_parity
from ember.testing.optest import OpCase, default_make

TABLES = [
    "arith",
    "elementwise",
    "index_ops",
    "indexing",
    "linalg",
    "logic",
    "movement",
    "reduce",
    "reduce_edge",
    "sort",
]

MASK = "a boolean mask tensor selects a data-dependent number of elements"
# Cases a graph of static shapes cannot express: tracing must refuse them (TraceError naming
# the caller's line), never return a graph that answers for the trace-time data.
DATA_DEPENDENT = {
    "masked_select": MASK,
    "masked_select_broadcast": MASK,
    "masked_select_0d": MASK,
    "mask_dim0": MASK + " (x[mask])",
    "mask_full": MASK + " (x[mask])",
    "mask_trailing": MASK + " (x[:, mask])",
    "mask_none_true": MASK + " (x[mask])",
    "mask_and_idx": MASK + " (x[mask, idx])",
    "index_put_mask": MASK + " (index_put with a mask index)",
    "set_mask_values": "x[1, mask] = v with one value per selected element",
    "bool_tensor": "x[1, b] with a 0-d bool tensor adds a dim of size 1 or 0",
    "idx_zero_dim_tensor": "a 0-d index tensor is read as a Python int",
    "idx_zero_dim_mixed": "a 0-d index tensor is read as a Python int",
}
# x[mask] = v is traced as where(mask, v, x) (static shapes) where eager uses index_put: the
# gradient of v sums the same terms in another order.
ROUNDING = {"set_mask": {"float16": 1e-3, "float32": 1e-6, "float64": 1e-14}}


def collect(package: str, tables) -> list:
    """Every ``OpCase`` held in a module-level list of each table module (imported, so a new
    case is checked here as soon as it is added to its table)."""
    cases, seen = [], set()
    for name in tables:
        module = importlib.import_module(f"{package}.test_{name}")
        for value in vars(module).values():
            if not isinstance(value, list):
                continue
            for case in value:
                if isinstance(case, OpCase) and id(case) not in seen:
                    seen.add(id(case))
                    cases.append((f"{name}.{case.name}", case))
    return cases


CASES = collect("tests.ops", TABLES)


def case_params(cases, known=None) -> list:
    """pytest parameters; ``known`` maps ids to the reason of a known, reported failure
    (strict xfail: fixing the bug makes the test fail until the entry is removed)."""
    known = known or {}
    out = []
    for label, c in cases:
        for d in c.dtypes:
            pid = f"{label}-{d}"
            marks = [pytest.mark.xfail(reason=known[pid], strict=True)] if pid in known else []
            out.append(pytest.param(c, d, id=pid, marks=marks))
    return out


def _split(values):
    """(positions and arrays, positions and Python values) of one ``make`` draw."""
    arrays = {i: v for i, v in enumerate(values) if isinstance(v, np.ndarray)}
    return arrays, {i: v for i, v in enumerate(values) if i not in arrays}


def _same_statics(x: dict, y: dict) -> bool:
    return x.keys() == y.keys() and all(repr(x[k]) == repr(y[k]) for k in x)


def draw(case, dtype, shapes, seed):
    """Inputs A and B for one shape entry, with the Python (non-array) arguments they share."""
    make = case.make or default_make(case)
    a_arr, a_stat = _split(make(np.random.default_rng(seed), dtype, shapes))
    for k in range(5):  # a draw of B whose Python arguments match A's
        b_arr, b_stat = _split(make(np.random.default_rng(seed + 100 + k), dtype, shapes))
        same_meta = all(a_arr[i].shape == b_arr[i].shape for i in a_arr) and a_arr.keys() == (
            b_arr.keys()
        )
        if same_meta and _same_statics(a_stat, b_stat):
            rng = np.random.default_rng(seed + 7)
            return a_arr, {i: vary(a_arr[i], b, rng) for i, b in b_arr.items()}, a_stat
    raise AssertionError(f"{case.name}: make() gives different Python arguments per seed")


def vary(a: np.ndarray, b: np.ndarray, rng) -> np.ndarray:
    """B's array, changed where the case's ``make`` gave the same data as in A (fixed index
    arrays and masks): index arrays are shuffled (still in bounds), and one element of a
    mask is flipped, so that the number of selected elements changes too."""
    if a.size <= 1 or not np.array_equal(a, b, equal_nan=True):
        return b
    b = b.copy()
    if b.dtype == np.bool_:
        b.flat[rng.integers(b.size)] ^= True
    else:
        rng.shuffle(b.reshape(-1))
    return b


def run_parity(case: OpCase, dtype: str, seed: int = 0, rounding=None) -> None:
    from ember.testing.optest import _float_positions

    for n, shapes in enumerate(case.shapes):
        a_arr, b_arr, statics = draw(case, dtype, shapes, seed + n)
        values = [a_arr.get(i, statics.get(i)) for i in range(len(a_arr) + len(statics))]
        diff = set(_float_positions(case, values)) if case.grad else set()
        pos = sorted(a_arr)

        def fn(*tensors, statics=statics, pos=pos):
            args = dict(statics)
            args.update(zip(pos, tensors))
            return case.fn(*[args[i] for i in range(len(args))])

        def tensors(arrays, diff=diff, pos=pos):
            return [_wrap(arrays[i].copy()).requires_grad_(i in diff) for i in pos]

        try:
            rtol = (rounding or {}).get(dtype, 0.0)
            check_parity(fn, *tensors(a_arr), inputs_b=tensors(b_arr), grads=bool(diff), rtol=rtol)
        except AssertionError as exc:
            raise AssertionError(f"{case.name} {dtype} shapes={shapes}: {exc}") from None


def check_case(case, dtype, refused: dict, rounding: dict) -> None:
    """Parity for one case, or, for a case in ``refused``, the TraceError it must raise."""
    if case.name in refused:
        with pytest.raises(TraceError) as info:
            run_parity(case, dtype)
        # the message names the line of the user's code (here: the op table's lambda)
        assert re.search(r"at /\S*tests/\S*\.py:\d+ in ", str(info.value)), str(info.value)
        return
    run_parity(case, dtype, rounding=rounding.get(case.name))


@pytest.mark.parametrize("case, dtype", case_params(CASES))
def test_op_parity(case, dtype):
    check_case(case, dtype, DATA_DEPENDENT, ROUNDING)


def test_every_table_is_checked():
    assert len(CASES) > 500
    names = {c.name for _, c in CASES}
    assert set(DATA_DEPENDENT) <= names and set(ROUNDING) <= names
