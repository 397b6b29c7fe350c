"""The NumPy backend: graphs become generated straight-line Python over NumPy."""
