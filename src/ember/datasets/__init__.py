"""``ember.datasets``: real datasets that install offline, as ``TensorDataset``s.

* ``fashion_mnist``: Debian's ``dataset-fashion-mnist`` package (or a folder of IDX files);
* ``digits``: scikit-learn's 8x8 handwritten digits;
* ``mnist1d``: the MNIST-1D benchmark, generated locally by the ``mnist1d`` package.

No function here downloads anything.
"""

from ember.datasets.idx import DatasetError, read_idx
from ember.datasets.sources import digits, fashion_mnist, mnist1d
