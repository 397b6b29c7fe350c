"""DataLoader: batching, seeded shuffling, samplers, collation, and worker processes that
return exactly what num_workers=0 returns without growing memory."""

import os

import numpy as np
import pytest
import torch

import ember
from ember.data import DataLoader, TensorDataset


class Records(ember.data.Dataset):
    """Samples with nested structure: dicts, tuples, strings, numbers and arrays."""

    def __init__(self, n=37):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.full((2, 3), i, np.float32), "meta": (i, f"id{i}", i / 2)}


def _flat(batch):
    return (
        batch["x"].tolist(),
        batch["meta"][0].tolist(),
        batch["meta"][1],
        batch["meta"][2].tolist(),
    )


def test_batches_and_drop_last():
    ds = TensorDataset(ember.arange(10), ember.arange(10) * 10)
    sizes = [len(x) for x, _ in DataLoader(ds, batch_size=4)]
    assert sizes == [4, 4, 2] and len(DataLoader(ds, batch_size=4)) == 3
    assert [len(x) for x, _ in DataLoader(ds, batch_size=4, drop_last=True)] == [4, 4]
    x, y = next(iter(DataLoader(ds, batch_size=3)))
    assert x.tolist() == [0, 1, 2] and y.tolist() == [0, 10, 20]


def test_shuffle_is_reproducible_and_a_permutation():
    ds = TensorDataset(ember.arange(50))
    run = lambda seed: [
        x.tolist()
        for (x,) in DataLoader(ds, 8, shuffle=True, generator=ember.Generator().manual_seed(seed))
    ]
    a, b, c = run(1), run(1), run(2)
    assert a == b and a != c
    assert sorted(sum(a, [])) == list(range(50))
    ember.manual_seed(5)
    d = [x.tolist() for (x,) in DataLoader(ds, 8, shuffle=True)]
    ember.manual_seed(5)
    assert d == [x.tolist() for (x,) in DataLoader(ds, 8, shuffle=True)]


def test_collate_matches_torch_default_collate():
    samples = [Records()[i] for i in range(4)]
    ours = ember.data.default_collate(samples)
    theirs = torch.utils.data.default_collate(samples)
    assert ours["x"].tolist() == theirs["x"].tolist()
    assert ours["meta"][0].tolist() == theirs["meta"][0].tolist()
    assert list(ours["meta"][1]) == list(theirs["meta"][1])
    assert str(ours["meta"][2].dtype).split(".")[1] == str(theirs["meta"][2].dtype).split(".")[1]


@pytest.mark.parametrize("workers", [1, 3])
def test_workers_return_the_same_batches(workers):
    ds = Records()
    g = lambda: ember.Generator().manual_seed(3)
    serial = [_flat(b) for b in DataLoader(ds, 5, shuffle=True, generator=g())]
    parallel = [
        _flat(b) for b in DataLoader(ds, 5, shuffle=True, generator=g(), num_workers=workers)
    ]
    assert parallel == serial


def test_persistent_workers_over_epochs():
    ds = TensorDataset(ember.arange(20).reshape(10, 2))
    loader = DataLoader(ds, 3, num_workers=2, persistent_workers=True)
    first = [x.tolist() for (x,) in loader]
    procs = loader._workers[1]
    second = [x.tolist() for (x,) in loader]
    assert first == second and loader._workers[1] is procs
    del loader


def test_worker_error_is_reported():
    class Broken(Records):
        def __getitem__(self, i):
            if i == 7:
                raise ValueError("bad sample 7")
            return super().__getitem__(i)

    with pytest.raises(RuntimeError, match="(?s)worker .* failed.*bad sample 7"):
        list(DataLoader(Broken(), 4, num_workers=2))


def _rss_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_worker_epoch_memory_is_flat():
    # 400 batches of 256 KiB each: ~100 MiB pass through the pipes over one epoch.
    ds = TensorDataset(np.broadcast_to(np.float32(1), (3200, 8, 1024)))
    loader = DataLoader(ds, 8, num_workers=2)
    it = iter(loader)
    for _ in range(20):
        next(it)
    start = _rss_kb()
    peak = start
    for i, _ in enumerate(it):
        if i % 20 == 0:
            peak = max(peak, _rss_kb())
    assert peak - start < 20 * 1024, f"RSS grew by {(peak - start) / 1024:.1f} MiB over the epoch"


def test_samplers():
    ds = TensorDataset(ember.arange(10))
    sub = DataLoader(
        ds,
        3,
        sampler=ember.data.SubsetRandomSampler(
            [1, 3, 5], generator=ember.Generator().manual_seed(0)
        ),
    )
    assert sorted(sum((x.tolist() for (x,) in sub), [])) == [1, 3, 5]
    weighted = ember.data.WeightedRandomSampler(
        [0, 0, 1.0], 5, generator=ember.Generator().manual_seed(0)
    )
    assert list(weighted) == [2] * 5
    bs = ember.data.BatchSampler(ember.data.SequentialSampler(ds), 4, drop_last=True)
    assert [x.tolist() for (x,) in DataLoader(ds, batch_sampler=bs)] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_bad_arguments():
    ds = TensorDataset(ember.arange(4))
    with pytest.raises(ValueError, match="sampler is mutually exclusive with shuffle"):
        DataLoader(ds, sampler=ember.data.SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match="num_workers must be >= 0"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ember.ShapeError, match="tensor 0 has 4 rows, tensor 1 has 3"):
        TensorDataset(ember.arange(4), ember.arange(3))
    with pytest.raises(ember.ShapeError, match="different shapes"):
        ember.data.default_collate([np.zeros(2), np.zeros(3)])


def test_random_split_and_subset():
    ds = TensorDataset(ember.arange(10))
    a, b = ember.data.random_split(ds, [7, 3], generator=ember.Generator().manual_seed(0))
    assert sorted([int(a[i][0]) for i in range(7)] + [int(b[i][0]) for i in range(3)]) == list(
        range(10)
    )
    c, d, e = ember.data.random_split(ds, [0.5, 0.3, 0.2])
    assert (len(c), len(d), len(e)) == (5, 3, 2)
    with pytest.raises(ValueError, match="does not equal the length"):
        ember.data.random_split(ds, [5, 4])
    assert len(ember.data.ConcatDataset([ds, ds])) == 20 and int((ds + ds)[15][0]) == 5
    assert os.getpid()
