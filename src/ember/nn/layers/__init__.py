"""Layers of ember.nn, one module per group."""

from ember.nn.layers.activation import *
from ember.nn.layers.basic import *
from ember.nn.layers.conv import *
from ember.nn.layers.linear import *
from ember.nn.layers.loss import *
from ember.nn.layers.misc import *
from ember.nn.layers.normalization import *
from ember.nn.layers.pooling import *
from ember.nn.layers.rnn import *
from ember.nn.layers.transformer import *
