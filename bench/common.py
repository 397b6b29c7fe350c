"""Shared benchmark plumbing: a clean BLAS environment, timers and table printing.

The machine's environment sets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which slow NumPy's GEMM;
benchmarks drop both for their own process (re-executing themselves once) and report which
BLAS kernel actually ran.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time

_BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def clean_blas_env() -> None:
    """Re-exec this script without the OpenBLAS overrides (call before importing NumPy)."""
    if any(v in os.environ for v in _BLAS_VARS):
        env = {k: v for k, v in os.environ.items() if k not in _BLAS_VARS}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


def blas_info() -> str:
    from threadpoolctl import threadpool_info

    parts = []
    for p in threadpool_info():
        if p.get("internal_api") in ("openblas", "mkl", "blis"):
            parts.append(
                f"{p['internal_api']} {p.get('version')} ({p.get('architecture')}, "
                f"{p['num_threads']} threads, {os.path.basename(p['filepath'])})"
            )
    return "; ".join(parts) or "unknown"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def timeit(fn, *, min_time: float = 0.3, repeats: int = 5) -> float:
    """Median seconds per call of ``fn`` over ``repeats`` runs of at least ``min_time`` each."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time / 4 or n > 1_000_000:
            break
        n *= 4
    n = max(1, int(n * (min_time / 4) / max(dt, 1e-9)))
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - t0) / n)
    return statistics.median(runs)


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    return f"{s * 1e3:.2f} ms"


def print_table(title: str, rows: list, target_note: str = "") -> None:
    """rows: (name, ember_seconds_or_value, torch_value, target_ratio or None, unit)."""
    print(f"\n### {title}\n")
    print("| benchmark | ember | PyTorch | ember/PyTorch | target |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, e, t, target, unit in rows:
        ratio = e / t
        mark = "" if target is None else ("ok" if ratio <= target else "MISS")
        fe = fmt_time(e) if unit == "s" else f"{e:.1f} {unit}"
        ft = fmt_time(t) if unit == "s" else f"{t:.1f} {unit}"
        tgt = "" if target is None else f"<= {target:.2f} {mark}"
        print(f"| {name} | {fe} | {ft} | {ratio:.2f} | {tgt} |")
    if target_note:
        print(f"\n{target_note}")
