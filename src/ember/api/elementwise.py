"""Public elementwise functions (filled in by the elementwise family)."""

from __future__ import annotations

__all__: list[str] = []
