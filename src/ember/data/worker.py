"""Worker processes for DataLoader, exchanging batches without pickle.

A batch travels as a JSON header (the batch's structure, with arrays replaced by
``{"__array__": i, "dtype", "shape"}``) followed by each array's raw bytes, which the parent
receives straight into freshly allocated NumPy arrays. Each worker has at most
``prefetch_factor`` batches in flight, so memory stays flat over an epoch.
"""

from __future__ import annotations

import json
import multiprocessing
import traceback

import numpy as np

from ember.core.tensor import Tensor, _wrap


def encode(obj, arrays: list):
    """The JSON-able structure of a batch; arrays are appended to ``arrays``."""
    if isinstance(obj, (Tensor, np.ndarray)):
        a = obj._data if isinstance(obj, Tensor) else obj
        a = a if a.flags.c_contiguous else a.copy()  # (ascontiguousarray turns 0-d into 1-d)
        arrays.append(a)
        kind = "tensor" if isinstance(obj, Tensor) else "ndarray"
        return {"__array__": len(arrays) - 1, "kind": kind, "dtype": a.dtype.str, "shape": a.shape}
    if isinstance(obj, dict):
        return {"__dict__": [[encode(k, arrays), encode(v, arrays)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [encode(v, arrays) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(
        f"DataLoader worker: cannot send a {type(obj).__name__} to the main process; datasets "
        "used with num_workers > 0 must return tensors, arrays, numbers, strings, and "
        "tuples/lists/dicts of them"
    )


def decode(node, arrays: list):
    if isinstance(node, list):
        return [decode(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    if "__array__" in node:
        a = arrays[node["__array__"]]
        return _wrap(a) if node["kind"] == "tensor" else a
    if "__tuple__" in node:
        return tuple(decode(v, arrays) for v in node["__tuple__"])
    return {decode(k, arrays): decode(v, arrays) for k, v in node["__dict__"]}


def send_batch(conn, index: int, batch) -> None:
    arrays: list = []
    tree = encode(batch, arrays)
    conn.send_bytes(json.dumps({"index": index, "tree": tree}).encode())
    for a in arrays:
        conn.send_bytes(a.data if a.size else b"")


def recv_batch(conn):
    """(index, batch) from a worker, or raise the worker's error in this process."""
    msg = json.loads(conn.recv_bytes().decode())
    if "error" in msg:
        raise RuntimeError(f"DataLoader worker {msg['worker']} failed:\n{msg['error']}")
    arrays = []
    specs: list = []
    _collect(msg["tree"], specs)
    for spec in sorted(specs, key=lambda s: s["__array__"]):
        a = np.empty(spec["shape"], np.dtype(spec["dtype"]))
        if a.size:
            conn.recv_bytes_into(a.data.cast("B"))
        else:
            conn.recv_bytes()
        arrays.append(a)
    return msg["index"], decode(msg["tree"], arrays)


def _collect(node, out: list) -> None:
    if isinstance(node, list):
        for v in node:
            _collect(v, out)
    elif isinstance(node, dict):
        if "__array__" in node:
            out.append(node)
        elif "__tuple__" in node:
            _collect(node["__tuple__"], out)
        elif "__dict__" in node:
            for k, v in node["__dict__"]:
                _collect(k, out)
                _collect(v, out)


def worker_loop(conn, fetch, worker_id: int, seed: int, init_fn) -> None:
    """Receive ``[index, indices]`` tasks, reply with collated batches; stop on ``null``."""
    from ember.core.random import manual_seed

    manual_seed(seed)
    np.random.seed(seed % 2**32)
    try:
        if init_fn is not None:
            init_fn(worker_id)
        while True:
            task = json.loads(conn.recv_bytes().decode())
            if task is None:
                break
            send_batch(conn, task[0], fetch(task[1]))
    except (EOFError, KeyboardInterrupt, BrokenPipeError):
        pass
    except Exception:  # noqa: BLE001 - report any failure to the main process
        err = {"worker": worker_id, "error": traceback.format_exc()}
        try:
            conn.send_bytes(json.dumps(err).encode())
        except (BrokenPipeError, OSError):
            pass
    finally:
        conn.close()


def start_workers(n: int, fetch, base_seed: int, init_fn):
    """Fork ``n`` workers; the dataset is inherited by the fork, never serialised."""
    ctx = multiprocessing.get_context("fork")
    conns, procs = [], []
    for wid in range(n):
        parent, child = ctx.Pipe(duplex=True)
        p = ctx.Process(
            target=worker_loop, args=(child, fetch, wid, base_seed + wid, init_fn), daemon=True
        )
        p.start()
        child.close()
        conns.append(parent)
        procs.append(p)
    return conns, procs


def stop_workers(conns, procs) -> None:
    for c in conns:
        try:
            c.send_bytes(b"null")
        except (BrokenPipeError, OSError):
            pass
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.terminate()
    for c in conns:
        c.close()
