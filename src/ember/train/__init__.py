"""Keras-style training: ``compile``/``fit``/``evaluate``/``predict`` on any ``ember.nn.Module``,
streaming metrics, losses by name, callbacks, history plots and resumable checkpoints.

>>> import ember
>>> from ember import train
>>> model = ember.nn.Linear(3, 2)
>>> model.compile("sgd", "cross_entropy", metrics=["accuracy", train.metrics.TopKAccuracy(1)])
>>> model.compiled.metric_names
['loss', 'accuracy', 'top_k_accuracy']
"""

from ember.train import callbacks, losses, metrics
from ember.train.callbacks import Callback, History
from ember.train.checkpoint import load_checkpoint, save_checkpoint
from ember.train.config import Compiled
from ember.train.metrics import Metric
from ember.train.model_api import compile, evaluate, fit, predict
