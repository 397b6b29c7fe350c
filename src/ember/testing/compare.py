"""``assert_close`` for ember tensors, NumPy arrays, PyTorch tensors and Python numbers."""

from __future__ import annotations

import numpy as np

from ember.core.tensor import Tensor

# Default (rtol, atol) by dtype: NumPy and PyTorch kernels sum in different orders.
TOLERANCES = {
    "float16": (1e-2, 1e-2),
    "float32": (1e-5, 1e-5),
    "float64": (1e-9, 1e-10),
}


def to_numpy(x) -> np.ndarray:
    if isinstance(x, Tensor):
        return x._data
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # a torch tensor
        return x.detach().cpu().numpy()
    return np.asarray(x)


def assert_close(actual, expected, rtol=None, atol=None, check_dtype=True, msg: str = ""):
    """Raise AssertionError unless ``actual`` matches ``expected`` in shape, dtype and values
    (NaNs in the same places; exact for integers and bools)."""
    a, e = to_numpy(actual), to_numpy(expected)
    where = f"{msg}: " if msg else ""
    if a.shape != e.shape:
        raise AssertionError(f"{where}shape {a.shape} != expected {e.shape}")
    if check_dtype and a.dtype != e.dtype:
        raise AssertionError(f"{where}dtype {a.dtype} != expected {e.dtype}")
    if a.dtype.kind != "f" and e.dtype.kind != "f":
        if not np.array_equal(a, e):
            bad = np.argwhere(a != e)[:5].tolist()
            raise AssertionError(f"{where}values differ at {bad}: {a} != {e}")
        return
    d_rtol, d_atol = TOLERANCES.get(str(a.dtype), (1e-5, 1e-5))
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    ok = np.isclose(a64, e64, rtol=rtol, atol=atol, equal_nan=True)
    if not ok.all():
        idx = np.argwhere(~ok)[:5]
        diff = np.abs(a64 - e64)[~ok]
        diff = diff[~np.isnan(diff)]  # a NaN on one side only has no size
        worst = float(diff.max()) if diff.size else float("nan")
        samples = ", ".join(f"{tuple(i)}: {a64[tuple(i)]!r} vs {e64[tuple(i)]!r}" for i in idx)
        raise AssertionError(
            f"{where}{(~ok).sum()} of {ok.size} values differ (rtol={rtol}, atol={atol}, "
            f"max abs error {worst:.3g}); e.g. {samples}"
        )
