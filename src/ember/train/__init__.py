"""Keras-style training: ``compile``/``fit``/``evaluate``/``predict``, metrics, callbacks.

>>> import ember
>>> from ember import train
>>> train.callbacks.Callback.__name__
'Callback'
"""

from ember.train import callbacks
from ember.train.callbacks import Callback
