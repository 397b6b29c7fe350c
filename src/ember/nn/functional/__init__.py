"""``ember.nn.functional``: neural-network functions over tensors, PyTorch's names and
argument order.

>>> import ember
>>> import ember.nn.functional as F
>>> F.relu(ember.tensor([-1.0, 2.0]))
tensor([0., 2.])
"""

from ember.nn.functional.activation import *  # noqa: F403
from ember.nn.functional.attention import *  # noqa: F403
from ember.nn.functional.basic import *  # noqa: F403
from ember.nn.functional.conv import *  # noqa: F403
from ember.nn.functional.loss import *  # noqa: F403
from ember.nn.functional.normalization import *  # noqa: F403
from ember.nn.functional.padding import *  # noqa: F403
from ember.nn.functional.pooling import *  # noqa: F403
from ember.nn.functional.softmax import *  # noqa: F403
from ember.nn.functional.vision import *  # noqa: F403
