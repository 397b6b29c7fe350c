"""``ember.optim``: optimizers and learning-rate schedulers with PyTorch's names and maths.

>>> import ember
>>> w = ember.tensor([2.0], requires_grad=True)
>>> opt = ember.optim.SGD([w], lr=0.5)
>>> (w * w).sum().backward(); opt.step(); opt.zero_grad()
>>> w
tensor([0.], requires_grad=True)
"""

from ember.optim import lr_scheduler
from ember.optim.adam import Adam, AdamW
from ember.optim.optimizer import Optimizer, OptimizerStateError
from ember.optim.rmsprop import Adagrad, RMSprop
from ember.optim.sgd import SGD
