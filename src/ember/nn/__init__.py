"""``ember.nn``: layers and the functional API (``ember.nn.functional``)."""

from ember.nn import functional  # noqa: F401
