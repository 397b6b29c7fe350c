"""Module: registration by assignment, traversal, state dicts, modes, conversions, repr,
compared with torch.nn.Module where both have the behaviour."""

import numpy as np
import pytest
import torch

import ember
import ember.nn as nn


class Block(nn.Module):
    def __init__(self, lib_nn):
        super().__init__()
        self.fc = lib_nn.Linear(3, 4)
        self.scale = lib_nn.Parameter(ember.ones(4) if lib_nn is nn else torch.ones(4))
        self.register_buffer("steps", ember.zeros(()) if lib_nn is nn else torch.zeros(()))
        self.register_buffer(
            "cache", ember.zeros(2) if lib_nn is nn else torch.zeros(2), persistent=False
        )
        self.not_a_param = 3


def _tree(lib_nn):
    root = lib_nn.Module()
    root.a = Block(lib_nn) if lib_nn is nn else TorchBlock()
    root.b = lib_nn.Sequential(lib_nn.Linear(4, 2), lib_nn.ReLU())
    root.shared = root.a.fc  # the same module twice: reported once
    return root


class TorchBlock(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 4)
        self.scale = torch.nn.Parameter(torch.ones(4))
        self.register_buffer("steps", torch.zeros(()))
        self.register_buffer("cache", torch.zeros(2), persistent=False)
        self.not_a_param = 3


def test_names_match_torch():
    e, t = _tree(nn), _tree(torch.nn)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert list(e.state_dict()) == list(t.state_dict())
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]


def test_state_dict_round_trip_and_errors():
    a, b = _tree(nn), _tree(nn)
    b.load_state_dict(a.state_dict())
    for (k, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert x.tolist() == y.tolist(), k
    sd = a.state_dict()
    sd["extra"] = ember.ones(1)
    del sd["a.scale"]
    sd["b.0.weight"] = ember.ones(5, 5)
    with pytest.raises(nn.StateDictError) as info:
        b.load_state_dict(sd)
    msg = str(info.value)
    assert "missing keys: a.scale" in msg and "unexpected keys: extra" in msg
    assert "size mismatch for b.0.weight: checkpoint (5, 5) vs model (2, 4)" in msg
    sd["b.0.weight"] = a.state_dict()["b.0.weight"]
    result = b.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["a.scale"] and result.unexpected_keys == ["extra"]


def test_state_dict_is_detached_and_shares_storage():
    m = nn.Linear(2, 2)
    w = m.state_dict()["weight"]
    assert not w.requires_grad
    m.weight.data.numpy()[0, 0] = 42.0
    assert w.tolist()[0][0] == 42.0


def test_train_eval_apply_zero_grad_requires_grad():
    m = _tree(nn)
    m.eval()
    assert all(not x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    seen = []
    m.apply(lambda x: seen.append(type(x).__name__))
    assert seen[-1] == "Module" and "Linear" in seen
    out = m.b(m.a.fc(ember.ones(1, 3))).sum()
    out.backward()
    assert m.a.fc.weight.grad is not None
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_to_dtype_converts_floats_only():
    m = _tree(nn)
    m.to(ember.float64)
    assert all(p.dtype == ember.float64 for p in m.parameters())
    assert m.a.steps.dtype == ember.float64
    m.half()
    assert m.a.fc.weight.dtype == ember.float16
    with pytest.raises(TypeError, match="only floating dtypes"):
        m.to(ember.int32)


def test_assignment_rules():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign Tensor as parameter 'weight'"):
        m.weight = ember.ones(2, 2)
    m.bias = None
    assert m.bias is None and "bias" not in dict(m.named_parameters())
    m.extra = nn.Parameter(ember.ones(1))
    assert "extra" in dict(m.named_parameters())
    del m.extra
    assert "extra" not in dict(m.named_parameters())

    class NoInit(nn.Module):
        def __init__(self):
            self.x = 1

    with pytest.raises(AttributeError, match="before Module.__init__"):
        NoInit()


def test_repr_matches_torch():
    e = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 1, bias=False)))
    t = torch.nn.Sequential(
        torch.nn.Linear(3, 4),
        torch.nn.ReLU(),
        torch.nn.Sequential(torch.nn.Linear(4, 1, bias=False)),
    )
    assert repr(e) == repr(t)


def test_containers():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.append(nn.Linear(2, 1))
    layers.insert(0, nn.Identity())
    assert len(layers) == 5 and isinstance(layers[0], nn.Identity) and len(layers[1:3]) == 2
    assert len(list(layers.parameters())) == 8
    d = nn.ModuleDict({"enc": nn.Linear(2, 3), "dec": nn.Linear(3, 2)})
    assert list(d.keys()) == ["enc", "dec"] and "enc" in d
    assert [n for n, _ in d.named_parameters()] == [
        "enc.weight",
        "enc.bias",
        "dec.weight",
        "dec.bias",
    ]
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    seq.append(nn.Linear(3, 1))
    assert seq(ember.ones(4, 2)).shape == (4, 1)
    with pytest.raises(IndexError, match="index 5 is out of range for 3 modules"):
        seq[5]


def test_default_initialisation_matches_torch_distribution():
    """Linear/Conv init: PyTorch's kaiming-uniform(a=sqrt 5) bounds, and the uniform spread."""
    lin = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    w = lin.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound
    conv = nn.Conv2d(8, 16, 3)
    fan_in = 8 * 9
    assert np.abs(conv.weight.detach().numpy()).max() <= 1 / np.sqrt(fan_in)
    assert np.abs(conv.bias.detach().numpy()).max() <= 1 / np.sqrt(fan_in)


def test_manual_seed_makes_models_reproducible():
    ember.manual_seed(7)
    a = nn.Linear(5, 5).weight.tolist()
    ember.manual_seed(7)
    assert nn.Linear(5, 5).weight.tolist() == a
