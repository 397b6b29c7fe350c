"""The safetensors file format, read and written with NumPy only.

Layout: an 8-byte little-endian header length N, N bytes of JSON (``{name: {"dtype", "shape",
"data_offsets"}}`` plus an optional ``"__metadata__"`` of string values), then the raw
little-endian tensor bytes. Loading parses JSON and copies bytes: nothing in the file can run
code. Every structural problem raises a ``CheckpointError`` naming the file and the tensor.
"""

from __future__ import annotations

import json
import math
import os
import tempfile

import numpy as np

from ember.errors import EmberError

_TO_CODE = {
    np.dtype(np.float16): "F16",
    np.dtype(np.float32): "F32",
    np.dtype(np.float64): "F64",
    np.dtype(np.int32): "I32",
    np.dtype(np.int64): "I64",
    np.dtype(np.bool_): "BOOL",
    np.dtype(np.uint8): "U8",
    np.dtype(np.int8): "I8",
    np.dtype(np.int16): "I16",
}
_FROM_CODE = {v: k for k, v in _TO_CODE.items()}
_MAX_HEADER = 100 * 1024 * 1024


class CheckpointError(EmberError, ValueError):
    """A file that is not a valid checkpoint (truncated, corrupted, tampered, wrong layout)."""


def write(path, tensors: dict, metadata: dict | None = None) -> None:
    """Write ``{name: ndarray}`` (and string metadata) atomically: temp file, then rename."""
    header = {}
    offset = 0
    arrays = []
    for name, arr in tensors.items():
        arr = np.asarray(arr)
        arr = arr if arr.flags.c_contiguous else arr.copy()  # (ascontiguousarray makes 0-d 1-d)
        code = _TO_CODE.get(arr.dtype)
        if code is None:
            raise CheckpointError(f"{path}: tensor {name!r} has unsupported dtype {arr.dtype}")
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        header[name] = {
            "dtype": code,
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + arr.nbytes],
        }
        offset += arr.nbytes
        arrays.append(arr)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # keep the data 8-byte aligned
    atomic_write(path, [len(blob).to_bytes(8, "little"), blob, *arrays])


def atomic_write(path, chunks) -> None:
    """Write byte chunks to a temporary file beside ``path``, fsync, then rename over it, so a
    crash never leaves a torn file."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            for c in chunks:
                f.write(c.data if isinstance(c, np.ndarray) else c)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600): give it the permissions open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read(path) -> tuple[dict, dict]:
    """``({name: ndarray}, metadata)`` from a safetensors file, validating every field."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise CheckpointError(f"{path}: file is truncated ({len(raw)} bytes; no header)")
    n = int.from_bytes(raw[:8], "little")
    if n > _MAX_HEADER or 8 + n > len(raw):
        raise CheckpointError(
            f"{path}: header length {n} does not fit the file size {len(raw)} (truncated or not "
            "a safetensors file)"
        )
    try:
        header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: header must be a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{path}: __metadata__ must be a JSON object")
    data = memoryview(raw)[8 + n :]
    tensors = {name: _tensor(path, name, info, data) for name, info in header.items()}
    return tensors, metadata


def _tensor(path, name, info, data) -> np.ndarray:
    def bad(why: str):
        return CheckpointError(f"{path}: tensor {name!r}: {why}")

    if not isinstance(info, dict):
        raise bad("entry must be a JSON object")
    dtype = _FROM_CODE.get(info.get("dtype"))
    if dtype is None:
        raise bad(f"unsupported dtype {info.get('dtype')!r}")
    shape, offsets = info.get("shape"), info.get("data_offsets")
    if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise bad(f"invalid shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= len(data)
    ):
        raise bad(f"data offsets {offsets!r} fall outside the {len(data)} data bytes (truncated?)")
    nbytes = math.prod(shape) * dtype.itemsize
    if offsets[1] - offsets[0] != nbytes:
        raise bad(f"{offsets[1] - offsets[0]} bytes stored but shape {shape} needs {nbytes}")
    arr = np.frombuffer(data[offsets[0] : offsets[1]], dtype=dtype.newbyteorder("<"))
    return arr.astype(dtype).reshape(shape)
