"""Public indexing functions (filled in by the indexing family)."""

from __future__ import annotations

__all__: list[str] = []
