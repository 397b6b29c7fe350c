"""Layers of ember.nn, one module per group."""

from ember.nn.layers.basic import *
