"""Find the user's source line that called into ember (for errors, anomaly mode and the IR)."""

from __future__ import annotations

import os
import sys

_EMBER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class SourceLocation(tuple):
    """(file, line, function) of user code."""

    __slots__ = ()

    def __new__(cls, file: str, line: int, function: str):
        return tuple.__new__(cls, (file, line, function))

    file = property(lambda self: self[0])
    line = property(lambda self: self[1])
    function = property(lambda self: self[2])

    def __str__(self) -> str:
        return f"{self[0]}:{self[1]} in {self[2]}"


def user_location(skip: int = 1) -> SourceLocation | None:
    """The innermost stack frame outside the ember package, or None."""
    f = sys._getframe(skip)
    while f is not None:
        fname = f.f_code.co_filename
        if not fname.startswith(_EMBER_DIR):
            return SourceLocation(fname, f.f_lineno, f.f_code.co_name)
        f = f.f_back
    return None
