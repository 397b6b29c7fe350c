"""Convolution, pooling and resampling primitives (im2col + one GEMM per convolution)."""

from __future__ import annotations
