"""``ember.nn``: modules, layers and the functional API (``ember.nn.functional``).

>>> import ember
>>> net = ember.nn.Sequential(ember.nn.Identity())
>>> net(ember.ones(2))
tensor([1., 1.])
"""

from ember.nn import functional, init, utils
from ember.nn.containers import ModuleDict, ModuleList, Sequential
from ember.nn.layers import *
from ember.nn.module import Module, StateDictError
from ember.nn.parameter import Parameter
