"""LeNet-5 learns real data: digits (fast) and Fashion-MNIST (slow, run by CI too)."""

import numpy as np
import pytest

import ember
import ember.nn.functional as F

from .models import lenet5


def _to_28(ds):
    """The 8x8 digits resized to LeNet-5's 28x28 input (bilinear)."""
    x, y = ds.tensors
    return ember.data.TensorDataset(F.interpolate(x, size=(28, 28), mode="bilinear"), y)


def _train(model, train, epochs, lr, batch_size, adam=False):
    if adam:
        opt = ember.optim.Adam(model.parameters(), lr=lr)
    else:
        opt = ember.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    sched = ember.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    loader = ember.data.DataLoader(train, batch_size, shuffle=True)
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()


def _accuracy(model, test):
    model.eval()
    correct = 0
    with ember.no_grad():
        for x, y in ember.data.DataLoader(test, 1000):
            correct += int((model(x).argmax(1) == y).sum())
    return correct / len(test)


def test_lenet5_reaches_97_percent_on_digits():
    ember.manual_seed(0)
    train, test = _to_28(ember.datasets.digits("train")), _to_28(ember.datasets.digits("test"))
    model = lenet5(ember.nn)
    _train(model, train, epochs=10, lr=2e-3, batch_size=32, adam=True)
    acc = _accuracy(model, test)
    assert acc >= 0.97, f"test accuracy {acc:.3f}"


@pytest.mark.slow
def test_lenet5_reaches_89_percent_on_fashion_mnist_in_two_epochs():
    ember.manual_seed(0)
    train = ember.datasets.fashion_mnist("train")
    test = ember.datasets.fashion_mnist("test")
    model = lenet5(ember.nn)
    _train(model, train, epochs=2, lr=0.05, batch_size=64)
    acc = _accuracy(model, test)
    assert acc >= 0.89, f"test accuracy {acc:.3f}"
    assert np.isfinite(acc)
