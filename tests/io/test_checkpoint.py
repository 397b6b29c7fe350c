"""ember.save / ember.load: round trips, interoperability with the safetensors package,
atomic writes, and named errors for damaged files."""

import os

import numpy as np
import pytest
import safetensors.numpy

import ember
from ember.io import safetensors as st


def test_nested_round_trip(tmp_path):
    path = tmp_path / "c.safetensors"
    obj = {
        "model": {
            "layer.weight": ember.randn(3, 4),
            "layer.bias": ember.zeros(4, dtype=ember.float64),
        },
        "optimizer": {
            "state": {0: {"step": 3.0, "buf": ember.ones(2)}},
            "param_groups": [{"lr": 0.1, "params": [0]}],
        },
        "rng": {"bit_generator": "PCG64", "state": {"state": 2**100, "inc": 7}},
        "history": [0.5, float("inf"), float("nan")],
        "pair": (1, "a"),
        "mask": ember.tensor([True, False]),
        "ids": np.arange(3, dtype=np.int32),
        "none": None,
    }
    ember.save(obj, path)
    back = ember.load(path)
    assert back["model"]["layer.weight"].tolist() == obj["model"]["layer.weight"].tolist()
    assert back["model"]["layer.bias"].dtype == ember.float64
    assert back["optimizer"]["state"][0]["step"] == 3.0
    assert list(back["optimizer"]["state"]) == [0]  # int keys survive
    assert back["rng"]["state"]["state"] == 2**100
    assert back["history"][:2] == [0.5, float("inf")] and np.isnan(back["history"][2])
    assert back["pair"] == (1, "a") and back["none"] is None
    assert back["mask"].dtype == ember.bool and isinstance(back["ids"], np.ndarray)


def test_files_are_standard_safetensors(tmp_path):
    ours = tmp_path / "ours.safetensors"
    ember.save({"w": ember.arange(6).reshape(2, 3), "b": ember.ones(2, dtype=ember.float16)}, ours)
    theirs = safetensors.numpy.load_file(str(ours))
    assert theirs["w"].tolist() == [[0, 1, 2], [3, 4, 5]] and theirs["b"].dtype == np.float16
    plain = tmp_path / "plain.safetensors"
    safetensors.numpy.save_file({"x": np.eye(2, dtype=np.float32)}, str(plain))
    assert ember.load(plain)["x"].tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_model_state_dict_round_trip(tmp_path):
    net = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.BatchNorm1d(4))
    path = tmp_path / "m.safetensors"
    ember.save(net.state_dict(), path)
    other = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.BatchNorm1d(4))
    other.load_state_dict(ember.load(path))
    for (k, a), (_, b) in zip(net.state_dict().items(), other.state_dict().items()):
        assert a.tolist() == b.tolist(), k


def _damage(path, fn):
    raw = bytearray(open(path, "rb").read())
    open(path, "wb").write(bytes(fn(raw)))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda r: r[: len(r) // 2], "header length .* does not fit|fall outside"),
        (lambda r: r[:5], "truncated"),
        (lambda r: r[:-1], "fall outside|bytes stored"),
        (
            lambda r: r[:-2] + bytes([r[-2] ^ 0xFF]) + r[-1:],
            r"tensor 'w' does not match its checksum",
        ),
        (lambda r: r[:8] + b"!" + r[9:], "not valid JSON"),
    ],
    ids=["half", "no-header", "one-byte-short", "tampered", "bad-json"],
)
def test_damaged_files_name_the_problem(tmp_path, damage, message):
    path = tmp_path / "c.safetensors"
    ember.save({"w": ember.arange(16, dtype=ember.float32)}, path)
    _damage(path, damage)
    with pytest.raises(ember.CheckpointError, match=message) as info:
        ember.load(path)
    assert str(path) in str(info.value)


def test_wrong_model_lists_keys(tmp_path):
    path = tmp_path / "m.safetensors"
    ember.save(ember.nn.Linear(3, 4).state_dict(), path)
    with pytest.raises(
        ember.nn.StateDictError,
        match=r"size mismatch for weight: checkpoint \(4, 3\) vs model \(2, 3\)",
    ):
        ember.nn.Linear(3, 2).load_state_dict(ember.load(path))
    seq = ember.nn.Sequential(ember.nn.Linear(3, 4))
    with pytest.raises(
        ember.nn.StateDictError,
        match=r"missing keys: 0.weight, 0.bias.*unexpected keys: weight, bias",
    ):
        seq.load_state_dict(ember.load(path))


def test_unsupported_objects_are_refused(tmp_path):
    with pytest.raises(ember.CheckpointError, match=r"cannot save object at 'a.0'"):
        ember.save({"a": [object()]}, tmp_path / "x.safetensors")


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "c.safetensors"
    ember.save({"w": ember.ones(3)}, path)
    before = open(path, "rb").read()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        ember.save({"w": ember.zeros(1000)}, path)
    assert open(path, "rb").read() == before  # the old file is intact
    assert os.listdir(tmp_path) == ["c.safetensors"]  # and no temp file is left behind


def test_unknown_dtype_code(tmp_path):
    path = tmp_path / "x.safetensors"
    safetensors.numpy.save_file({"x": np.zeros(2, np.uint16)}, str(path))
    with pytest.raises(ember.CheckpointError, match=r"tensor 'x': unsupported dtype 'U16'"):
        st.read(path)


def test_written_files_get_normal_permissions(tmp_path):
    path = tmp_path / "p.safetensors"
    ember.save({"w": ember.ones(1)}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
