"""Samplers: the order in which a DataLoader visits indices.

>>> import ember
>>> list(ember.data.BatchSampler(ember.data.SequentialSampler(range(5)), 2, drop_last=False))
[[0, 1], [2, 3], [4]]
"""

from __future__ import annotations

import numpy as np

from ember.core.random import default_generator


class Sampler:
    """Yields dataset indices; implement ``__iter__`` and ``__len__``."""

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    def __init__(self, data_source):
        self.n = len(data_source)

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self) -> int:
        return self.n


class RandomSampler(Sampler):
    """A random permutation each epoch, drawn from ``generator`` (reproducible under a seed)."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.n = len(data_source)
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if num_samples is not None and num_samples <= 0:
            raise ValueError(f"RandomSampler: num_samples must be positive, got {num_samples}")

    @property
    def num_samples(self) -> int:
        return self.n if self._num_samples is None else self._num_samples

    def __iter__(self):
        rng = (self.generator or default_generator).np
        if self.replacement:
            return iter(rng.integers(0, self.n, self.num_samples).tolist())
        reps = -(-self.num_samples // max(self.n, 1))
        perm = np.concatenate([rng.permutation(self.n) for _ in range(reps)]) if self.n else []
        return iter(list(perm[: self.num_samples]))

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """A random permutation of the given indices."""

    def __init__(self, indices, generator=None):
        self.indices, self.generator = list(indices), generator

    def __iter__(self):
        rng = (self.generator or default_generator).np
        return (self.indices[i] for i in rng.permutation(len(self.indices)))

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """Indices drawn with probability proportional to ``weights``."""

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None):
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1 or (w < 0).any() or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be a 1-D non-negative sequence")
        self.p = w / w.sum()
        self.num_samples, self.replacement, self.generator = num_samples, replacement, generator

    def __iter__(self):
        rng = (self.generator or default_generator).np
        return iter(rng.choice(len(self.p), self.num_samples, self.replacement, self.p).tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of ``batch_size``."""

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size must be a positive int, got {batch_size!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(int(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
