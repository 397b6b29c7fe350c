"""The public functions of every ``ember.api`` module, re-exported as ``ember.<name>``."""

from ember.api import fill as _fill  # noqa: F401 - registers copy_, zero_, fill_
from ember.api.arith import *  # noqa: F403
from ember.api.convert import clone, contiguous, to  # noqa: F401
from ember.api.elementwise import *  # noqa: F403
from ember.api.indexing import *  # noqa: F403
from ember.api.linalg import *  # noqa: F403
from ember.api.logic import *  # noqa: F403
from ember.api.reduce import *  # noqa: F403
from ember.api.shape import *  # noqa: F403
from ember.api.sort import *  # noqa: F403
from ember.nn.functional.softmax import tensor_log_softmax as log_softmax
from ember.nn.functional.softmax import tensor_softmax as softmax
