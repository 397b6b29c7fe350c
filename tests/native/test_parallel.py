"""The batch-split thread helper behind the convolution and pooling kernels."""

import threading

import numpy as np
import pytest

from ember.native import parallel


@pytest.fixture
def threads(monkeypatch):
    monkeypatch.setattr(parallel, "THREADS", [3])
    monkeypatch.setattr(parallel, "MIN_WORK", [0])


def test_run_covers_every_index_once(threads):
    hits = np.zeros(10, int)
    seen = set()

    def part(a, b):
        hits[a:b] += 1
        seen.add(threading.get_ident())

    parallel.run(part, 10, work=10)
    assert hits.tolist() == [1] * 10
    assert len(seen) >= 2  # the caller and at least one worker


def test_split_matches_serial(threads):
    x = np.arange(14.0).reshape(7, 2)
    out = parallel.split(lambda a, b: a * 2 + b, 7, 14, x, x)
    np.testing.assert_array_equal(out, x * 3)


def test_nested_run_in_a_worker_runs_inline(threads):
    """A kernel that splits again from inside a worker must not wait on the busy pool."""
    out = np.zeros(8)

    def inner(a, b):
        out[a:b] += 1

    def outer(a, b):
        if a:  # the parts that run on workers
            parallel.run(inner, 8, work=8)

    done = threading.Event()
    t = threading.Thread(target=lambda: (parallel.run(outer, 4, work=4), done.set()))
    t.start()
    t.join(timeout=10)
    assert done.is_set() and out.tolist() == [2] * 8  # two worker parts, each adding 1


def test_small_jobs_stay_on_the_calling_thread(monkeypatch):
    monkeypatch.setattr(parallel, "THREADS", [4])
    monkeypatch.setattr(parallel, "MIN_WORK", [1000])
    seen = []
    parallel.run(lambda a, b: seen.append((a, b, threading.get_ident())), 10, work=999)
    assert seen == [(0, 10, threading.get_ident())]
