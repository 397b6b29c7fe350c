"""Neural-network primitives that pay for themselves as fused ops (softmax, norms, ...)."""

from __future__ import annotations
