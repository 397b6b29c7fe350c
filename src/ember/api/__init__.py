"""Public tensor functions (PyTorch names and argument order), one module per op family.

Each module defines the functions ``ember.<name>`` and attaches them as Tensor methods and
operators with ``register_methods``. Primitives live in ``ember.ops``; composites are written
here with them.
"""
