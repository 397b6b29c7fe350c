"""Slots through which ``ember.ir``'s tracer observes eager execution (core never imports ir).

``tracer[0]`` is the active tracer: eager dispatch reports every op to it, in-place writes
report the tensor they change, and the autograd engine runs VJPs on Tensors so that backward
is recorded too. ``value_read[0]``, when set, is called by the Tensor methods that read data
into Python (``item``, ``bool`` ...) and raises: a trace cannot depend on data that way.
"""

tracer: list = [None]
value_read: list = [None]
