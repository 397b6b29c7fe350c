"""Pooling and resampling layers.

>>> import ember
>>> ember.nn.MaxPool2d(2)(ember.zeros(1, 1, 4, 4)).shape
(1, 1, 2, 2)
"""

from __future__ import annotations

from ember.nn import functional as F
from ember.nn.layers.options import Options as _Options

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "MaxPool1d", "MaxPool2d", "Upsample"]


class MaxPool1d(_Options):
    _fields = ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode")
    _defaults = dict(stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False)

    def forward(self, input):
        return F.max_pool1d(input, **self._options())


class MaxPool2d(MaxPool1d):
    def forward(self, input):
        return F.max_pool2d(input, **self._options())


class AvgPool2d(_Options):
    _fields = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")
    _defaults = dict(stride=None, padding=0, ceil_mode=False, count_include_pad=True)

    def forward(self, input):
        return F.avg_pool2d(input, **self._options())


class AdaptiveAvgPool2d(_Options):
    _fields = ("output_size",)
    _defaults: dict = {}

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)


class Upsample(_Options):
    _fields = ("size", "scale_factor", "mode", "align_corners")
    _defaults = dict(size=None, scale_factor=None, mode="nearest", align_corners=None)

    def forward(self, input):
        return F.interpolate(input, **self._options())
