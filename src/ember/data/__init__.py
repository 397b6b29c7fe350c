"""``ember.data``: datasets, samplers and the DataLoader (PyTorch's names and behaviour).

>>> import ember
>>> ds = ember.data.TensorDataset(ember.randn(10, 3), ember.arange(10))
>>> g = ember.Generator().manual_seed(0)
>>> loader = ember.data.DataLoader(ds, batch_size=4, shuffle=True, generator=g)
>>> [tuple(x.shape) for x, _ in loader]
[(4, 3), (4, 3), (2, 3)]
"""

from ember.data.collate import default_collate
from ember.data.dataset import (
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from ember.data.loader import DataLoader
from ember.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
