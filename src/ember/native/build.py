"""Compile ember's C kernels once per machine and load them with ctypes.

The shared library is built from the package's ``.c`` files by the system C compiler (``CC``,
else ``cc``) with ``-O3 -march=native`` and cached under ``EMBER_CACHE_DIR`` (default
``~/.cache/ember``), named by a hash of the sources, the flags, the compiler's version and the
CPU, so that a changed source or another machine sharing the directory builds its own copy.
The build writes a temporary file and renames it: processes building at once (test workers)
never load a half-written library. When there is no compiler, or the build fails, ``load``
returns None and ember runs its NumPy kernels instead. ``load_source`` does the same for
generated C (the compiler's fused elementwise kernels), cached by the text's hash, and
``load_extension`` for a CPython extension module (the C dispatcher, ``dispatch.c``), cached
per Python version.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from importlib import machinery, util
from pathlib import Path

SOURCES = ("rows.c", "select.c", "pool.c", "optim.c", "lstm.c", "conv.c", "pointwise.c")  # compiled
HEADERS = ("rows_impl.h", "fastmath.h")  # included by them: part of the cache key too
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


@functools.lru_cache(maxsize=8)
def _version(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout


def _digest(cc: str, *contents: bytes) -> str:
    """A name for a library of ``contents``, built here: the sources, flags, compiler and
    CPU all change the machine code."""
    h = hashlib.sha256()
    for part in contents:
        h.update(part)
    for part in (*FLAGS, _version(cc), _cpu_id(), platform.machine()):
        h.update(part.encode())
    return h.hexdigest()[:20]


def library_path(cc: str) -> Path:
    """Where the library of ember's own C sources is cached."""
    parts = [(_HERE / name).read_bytes() for name in SOURCES + HEADERS]
    return cache_dir() / f"ember-native-{_digest(cc, *parts)}.so"


def build(cc: str, target: Path, sources=None, extra=()) -> None:
    """Compile ``sources`` (paths; default ember's own) into ``target`` atomically, with the
    ``extra`` flags; raises OSError on a failed build."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    sources = [str(_HERE / s) for s in SOURCES] if sources is None else [str(s) for s in sources]
    try:
        cmd = [cc, *FLAGS, *extra, "-o", tmp, *sources, "-lm"]
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
    return _load(cc, library_path(cc), None)


def load_source(text: str, stem: str) -> tuple[ctypes.CDLL | None, str]:
    """A library compiled from the C source ``text`` (generated code), cached by its content
    as ``<stem>-<hash>.so`` next to the source it was built from; (None, why) on failure."""
    cc = compiler()
    if cc is None:
        return None, f"no C compiler ({os.environ.get('CC', 'cc')}) on PATH"
    name = f"{stem}-{_digest(cc, text.encode())}"
    path = cache_dir() / f"{name}.so"
    if path.exists():
        return _load(cc, path, None)
    try:
        source = cache_dir() / f"{name}.c"
        source.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".c", dir=source.parent)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, source)  # kept for reading: what the library was built from
    except OSError as exc:
        return None, str(exc)
    return _load(cc, path, [source])


def _load(cc: str, path: Path, sources) -> tuple[ctypes.CDLL | None, str]:
    try:
        if not path.exists():
            build(cc, path, sources)
        return ctypes.CDLL(str(path)), ""
    except (OSError, subprocess.SubprocessError) as exc:  # unwritable cache, timeout, bad .so
        return None, str(exc)


def load_extension(module: str, source: str):
    """(the CPython extension ``module`` built from ``source``, a file of this package, or
    None; why not). Cached like the kernels, keyed also by the Python version it is built
    for."""
    cc = compiler()
    if cc is None:
        return None, f"no C compiler ({os.environ.get('CC', 'cc')}) on PATH"
    include = sysconfig.get_paths()["include"]
    if not os.path.exists(os.path.join(include, "Python.h")):
        return None, f"no Python.h under {include}"
    text = (_HERE / source).read_bytes()
    tag = f"{sys.implementation.cache_tag} {sys.version} {include}".encode()
    suffix = machinery.EXTENSION_SUFFIXES[0]
    path = cache_dir() / f"{module}-{_digest(cc, text, tag)}{suffix}"
    try:
        if not path.exists():
            build(cc, path, [_HERE / source], extra=[f"-I{include}"])
        spec = util.spec_from_file_location(module, path)
        mod = util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod, ""
    except (OSError, ImportError) as exc:
        return None, str(exc)
