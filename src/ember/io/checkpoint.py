"""``ember.save`` / ``ember.load``: nested Python state (state dicts, optimizer state, RNG
state, metadata) stored as one safetensors file, with no pickle anywhere.

Tensors go into the safetensors body; the structure around them (dicts, lists, tuples,
numbers, strings, None) is JSON in the header's metadata, with each tensor replaced by a
reference to its key and a CRC-32 of its bytes, so a truncated, corrupted or tampered file
fails loudly with the file and the key named.

>>> import ember, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
>>> ember.save({"w": ember.ones(2), "epoch": 3, "history": [0.5, 0.25]}, path)
>>> state = ember.load(path)
>>> state["w"], state["epoch"], state["history"]
(tensor([1., 1.]), 3, [0.5, 0.25])
"""

from __future__ import annotations

import json
import math
import zlib

import numpy as np

from ember.core.tensor import Tensor, _wrap
from ember.io.safetensors import CheckpointError, read, write

_FORMAT = "ember.checkpoint/1"


def save(obj, path) -> None:
    """Write ``obj`` (nested dicts/lists/tuples of tensors, arrays, numbers, strings) atomically."""
    tensors: dict[str, np.ndarray] = {}
    tree = _encode(obj, "", tensors, path)
    crcs = {k: zlib.crc32(np.ascontiguousarray(v).tobytes()) for k, v in tensors.items()}
    meta = {"format": _FORMAT, "tree": json.dumps(tree), "crc32": json.dumps(crcs)}
    write(path, tensors, meta)


def load(path):
    """Read what ``save`` wrote; raises CheckpointError naming the file and key on any damage."""
    tensors, meta = read(path)
    if meta.get("format") != _FORMAT:
        # A plain safetensors file (e.g. weights from another library): a dict of tensors.
        return {k: _wrap(v) for k, v in tensors.items()}
    try:
        tree = json.loads(meta["tree"])
        crcs = json.loads(meta["crc32"])
    except (KeyError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: checkpoint metadata is damaged ({exc})") from None
    for key, arr in tensors.items():
        if crcs.get(key) != zlib.crc32(arr.tobytes()):
            raise CheckpointError(
                f"{path}: tensor {key!r} does not match its checksum (the file was corrupted "
                "or modified after it was saved)"
            )
    return _decode(tree, tensors, path)


def _encode(obj, key: str, tensors: dict, path):
    if isinstance(obj, Tensor):
        tensors[key] = obj._data
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        tensors[key] = obj
        return {"__ndarray__": key}
    if isinstance(obj, (bool, int, str)) or obj is None:
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, np.generic):
        return _encode(obj.item(), key, tensors, path)
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _encode(v, _join(key, k), tensors, path) for k, v in obj.items()}
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                raise CheckpointError(f"{path}: key {k!r} at {key or '<root>'!r} cannot be saved")
            items.append([k, _encode(v, _join(key, str(k)), tensors, path)])
        return {"__items__": items}
    if isinstance(obj, (list, tuple)):
        out = [_encode(v, _join(key, str(i)), tensors, path) for i, v in enumerate(obj)]
        return out if isinstance(obj, list) else {"__tuple__": out}
    raise CheckpointError(
        f"{path}: cannot save {type(obj).__name__} at {key or '<root>'!r}: only tensors, arrays, "
        "numbers, strings, None, and dicts/lists/tuples of them are stored (no pickle)"
    )


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _decode(node, tensors: dict, path):
    if isinstance(node, list):
        return [_decode(v, tensors, path) for v in node]
    if not isinstance(node, dict):
        return node
    for tag, wrap in (("__tensor__", _wrap), ("__ndarray__", lambda a: a)):
        if tag in node:
            key = node[tag]
            if key not in tensors:
                raise CheckpointError(f"{path}: tensor {key!r} is referenced but missing")
            return wrap(tensors[key])
    if "__float__" in node:
        return float(node["__float__"])
    if "__tuple__" in node:
        return tuple(_decode(v, tensors, path) for v in node["__tuple__"])
    if "__items__" in node:
        return {k: _decode(v, tensors, path) for k, v in node["__items__"]}
    return {k: _decode(v, tensors, path) for k, v in node.items()}
