"""Training callbacks (Keras names and meanings): hooks called by ``fit``/``evaluate``/``predict``.

>>> from ember.train import callbacks
>>> issubclass(callbacks.CallbackList, callbacks.Callback)
True
"""

from ember.train.callbacks.base import Callback, CallbackList
from ember.train.callbacks.csv_logger import CSVLogger
from ember.train.callbacks.tensorboard import TensorBoard
