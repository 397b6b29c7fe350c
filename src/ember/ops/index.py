"""Indexing primitives: getitem (basic and advanced), index_put, gather, scatter, ... ."""

from __future__ import annotations
