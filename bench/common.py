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


def _seconds_per_call(fn, probe: float = 0.02) -> float:
    """A first estimate of ``fn``'s time per call: enough calls (x4 each try) to take
    ``probe`` seconds."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= probe or n > 1_000_000:
            return max(dt / n, 1e-9)
        n *= 4


def timeit_interleaved(
    fns: dict, *, min_time: float = 0.3, rounds: int = 5, warmup: float = 0.15
) -> dict:
    """Median seconds per call of each of ``fns`` (name -> callable), timed in alternation.

    Each round gives every callable one turn of about ``min_time / rounds`` timed seconds, so
    all of them see the same load: on a shared VM whose speed drifts by 30% within a minute,
    timing one library after the other compares two different machines. Each turn starts
    with ``warmup`` seconds of untimed calls: the previous library's BLAS or OpenMP threads
    keep spinning for up to ~0.1 s after its last call (OpenBLAS's THREAD_TIMEOUT) and would
    steal the second core; a pause instead of calls would leave the caches and the clock
    cold.
    """
    calls = {}
    for name, fn in fns.items():
        per_call = _seconds_per_call(fn)
        calls[name] = (max(1, int(warmup / per_call)), max(1, int(min_time / rounds / per_call)))
    runs: dict = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            warm, n = calls[name]
            for _ in range(warm):
                fn()
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            runs[name].append((time.perf_counter() - t0) / n)
    return {name: statistics.median(r) for name, r in runs.items()}


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
        if unit == "x":  # a ratio row (a geometric mean): only the ratio column applies
            fe = ft = ""
        else:
            fe = fmt_time(e) if unit == "s" else f"{e:.1f} {unit}"
            ft = fmt_time(t) if unit == "s" else f"{t:.1f} {unit}"
        tgt = "" if target is None else f"<= {target:.2f} {mark}"
        print(f"| {name} | {fe} | {ft} | {ratio:.2f} | {tgt} |")
    if target_note:
        print(f"\n{target_note}")
