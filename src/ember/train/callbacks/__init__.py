"""Training callbacks (Keras names and meanings): hooks called by ``fit``/``evaluate``/``predict``.

>>> from ember.train import callbacks
>>> issubclass(callbacks.EarlyStopping, callbacks.Callback)
True
"""

from ember.train.callbacks.base import Callback, CallbackList
from ember.train.callbacks.checkpoint import ModelCheckpoint
from ember.train.callbacks.csv_logger import CSVLogger
from ember.train.callbacks.early_stopping import EarlyStopping
from ember.train.callbacks.history import History
from ember.train.callbacks.lr import LearningRateScheduler, ReduceLROnPlateau, SchedulerCallback
from ember.train.callbacks.misc import LambdaCallback, TerminateOnNaN
from ember.train.callbacks.progress import ProgressBar
from ember.train.callbacks.tensorboard import TensorBoard
