"""``ember.io``: safetensors files and checkpoints (``ember.save`` / ``ember.load``)."""

from ember.io.checkpoint import load, save
from ember.io.safetensors import CheckpointError
