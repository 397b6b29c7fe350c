"""``DataLoader``: batches from a dataset, shuffled by a seeded generator, optionally loaded
by worker processes.

>>> import ember
>>> ds = ember.data.TensorDataset(ember.arange(6).reshape(6, 1), ember.arange(6))
>>> [y.tolist() for _, y in ember.data.DataLoader(ds, batch_size=4)]
[[0, 1, 2, 3], [4, 5]]
"""

from __future__ import annotations

from ember.core.random import default_generator
from ember.data import worker
from ember.data.collate import default_collate
from ember.data.dataset import IterableDataset
from ember.data.sampler import BatchSampler, RandomSampler, SequentialSampler


class DataLoader:
    """PyTorch's DataLoader arguments and behaviour (``pin_memory`` is accepted and ignored:
    there is no accelerator memory to pin)."""

    def __init__(
        self,
        dataset,
        batch_size=1,
        shuffle=False,
        sampler=None,
        batch_sampler=None,
        num_workers=0,
        collate_fn=None,
        pin_memory=False,
        drop_last=False,
        timeout=0,
        worker_init_fn=None,
        generator=None,
        prefetch_factor=None,
        persistent_workers=False,
    ):
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be >= 0, got {num_workers}")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler or drop_last):
            raise ValueError(
                "DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, "
                "sampler and drop_last"
            )
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler is mutually exclusive with shuffle")
        if isinstance(dataset, IterableDataset) and (shuffle or sampler or batch_sampler):
            raise ValueError("DataLoader: an IterableDataset cannot be shuffled or sampled")
        if isinstance(dataset, IterableDataset) and num_workers > 0:
            raise ValueError("DataLoader: IterableDataset is only supported with num_workers=0")
        if prefetch_factor is not None and num_workers == 0:
            raise ValueError("DataLoader: prefetch_factor needs num_workers > 0")
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.num_workers, self.timeout, self.generator = num_workers, timeout, generator
        self.collate_fn = collate_fn
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
        self.persistent_workers = persistent_workers and num_workers > 0
        self._workers = None
        if isinstance(dataset, IterableDataset):
            self.sampler = self.batch_sampler = None
            return
        if sampler is None:
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        self.sampler = sampler
        if batch_sampler is None and batch_size is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_sampler = batch_sampler

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        if self.sampler is not None:
            return len(self.sampler)
        raise TypeError("DataLoader: an IterableDataset has no length")

    def _fetch(self, indices):
        if self.collate_fn is None and hasattr(self.dataset, "batch"):
            return self.dataset.batch(indices)  # one vectorised gather instead of per-sample
        collate = self.collate_fn or default_collate
        return collate([self.dataset[i] for i in indices])

    def __iter__(self):
        # Drawn on every epoch, workers or not (as PyTorch does), so that the shuffle order
        # is the same whatever num_workers is.
        seed = int((self.generator or default_generator).np.integers(0, 2**62))
        if isinstance(self.dataset, IterableDataset):
            return self._iter_stream()
        if self.batch_sampler is None:
            collate = self.collate_fn or (lambda x: x)
            return (collate(self.dataset[i]) for i in self.sampler)
        if self.num_workers == 0:
            return (self._fetch(b) for b in self.batch_sampler)
        return self._iter_workers(seed)

    def _iter_stream(self):
        collate = self.collate_fn or default_collate
        batch = []
        for sample in self.dataset:
            if self.batch_size is None:
                yield collate(sample) if self.collate_fn else sample
                continue
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)

    def _iter_workers(self, seed: int):
        n = self.num_workers
        if self._workers is None:
            self._workers = worker.start_workers(n, self._fetch, seed, self.worker_init_fn)
        conns, procs = self._workers
        tasks = enumerate(self.batch_sampler)
        sent = 0
        try:
            for _ in range(n * self.prefetch_factor):
                if not self._send(conns, tasks, n):
                    break
                sent += 1
            for i in range(len(self.batch_sampler)):
                if i >= sent:
                    break
                conn = conns[i % n]
                if self.timeout and not conn.poll(self.timeout):
                    raise RuntimeError(
                        f"DataLoader: timed out after {self.timeout} s waiting for a batch"
                    )
                _, batch = worker.recv_batch(conn)
                if self._send(conns, tasks, n):
                    sent += 1
                yield batch
        finally:
            if not self.persistent_workers or sent != len(self.batch_sampler):
                worker.stop_workers(*self._workers)
                self._workers = None

    @staticmethod
    def _send(conns, tasks, n) -> bool:
        nxt = next(tasks, None)
        if nxt is None:
            return False
        i, indices = nxt
        import json

        conns[i % n].send_bytes(json.dumps([i, [int(j) for j in indices]]).encode())
        return True

    def __del__(self):
        if getattr(self, "_workers", None) is not None:
            worker.stop_workers(*self._workers)
            self._workers = None
