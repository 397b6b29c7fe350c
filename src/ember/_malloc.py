"""Allocator tuning applied when ember is imported (glibc only; a no-op elsewhere).

glibc serves every allocation above a (dynamic) threshold with a fresh ``mmap`` and returns it
to the OS on free, so each large temporary (an im2col buffer, an activation, a gradient)
page-faults on first touch. An eager framework allocates such temporaries on every op: on the
LeNet-5 training step the first convolution spent half its time in page faults. Raising the
mmap threshold to its maximum (32 MiB) and the trim threshold keeps freed memory in the heap
for reuse. Set ``EMBER_MALLOC_TUNING=0`` to leave the allocator alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest accepted value on 64-bit systems
TRIM_THRESHOLD = 512 * 1024 * 1024


def tune() -> bool:
    """Raise glibc's mmap and trim thresholds; True when applied."""
    if os.environ.get("EMBER_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(
            libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        )
    except (OSError, AttributeError):  # not glibc (musl, ...)
        return False
