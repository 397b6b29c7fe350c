"""Compile ember's C kernels once per machine and load them with ctypes.

The shared library is built from the package's ``.c`` files by the system C compiler (``CC``,
else ``cc``) with ``-O3 -march=native`` and cached under ``EMBER_CACHE_DIR`` (default
``~/.cache/ember``), named by a hash of the sources, the flags, the compiler's version and the
CPU, so that a changed source or another machine sharing the directory builds its own copy.
The build writes a temporary file and renames it: processes building at once (test workers)
never load a half-written library. When there is no compiler, or the build fails, ``load``
returns None and ember runs its NumPy kernels instead.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCES = ("rows.c", "select.c", "pool.c", "optim.c")  # compiled
HEADERS = ("rows_impl.h",)  # included by them: part of the cache key too
# -ffp-contract=off: no fused multiply-adds the source does not write, so a kernel that
# mirrors a NumPy formula (optim.c) rounds where NumPy rounds and matches it bit for bit.
FLAGS = (
    "-O3",
    "-march=native",
    "-fPIC",
    "-shared",
    "-fno-math-errno",
    "-fno-trapping-math",
    "-ffp-contract=off",
)

_HERE = Path(__file__).resolve().parent


def cache_dir() -> Path:
    root = os.environ.get("EMBER_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "ember"


def compiler() -> str | None:
    cc = os.environ.get("CC", "cc")
    return shutil.which(cc)


def _cpu_id() -> str:
    """What ``-march=native`` depends on: the CPU's model and feature flags."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return platform.processor() or platform.machine()
    keep = [line for line in text.splitlines() if line.startswith(("model name", "flags"))]
    return "\n".join(sorted(set(keep))) or platform.machine()


def _version(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout


def library_path(cc: str) -> Path:
    h = hashlib.sha256()
    for name in SOURCES + HEADERS:
        h.update((_HERE / name).read_bytes())
    for part in (*FLAGS, _version(cc), _cpu_id(), platform.machine()):
        h.update(part.encode())
    return cache_dir() / f"ember-native-{h.hexdigest()[:20]}.so"


def build(cc: str, target: Path) -> None:
    """Compile the sources into ``target`` (atomically); raises on a failed build."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        cmd = [cc, *FLAGS, "-o", tmp, *(str(_HERE / s) for s in SOURCES), "-lm"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise OSError(f"{' '.join(cmd)} failed:\n{done.stderr.strip()}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load() -> tuple[ctypes.CDLL | None, str]:
    """(the loaded library or None, why not): builds it first when it is not cached."""
    cc = compiler()
    if cc is None:
        return None, f"no C compiler ({os.environ.get('CC', 'cc')}) on PATH"
    path = library_path(cc)
    try:
        if not path.exists():
            build(cc, path)
        return ctypes.CDLL(str(path)), ""
    except (OSError, subprocess.SubprocessError) as exc:  # unwritable cache, timeout, bad .so
        return None, str(exc)
