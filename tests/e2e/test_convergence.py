"""LeNet-5 learns real data: digits (fast) and Fashion-MNIST (slow, run by CI too)."""

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
    """LeCun's LeNet-5 (28x28 padded to 32x32), two epochs of Adam with a one-cycle schedule
    and label smoothing on normalised inputs (measured: 89.4%)."""
    ember.manual_seed(0)

    def normalised(ds):
        x, y = ds.tensors
        return ember.data.TensorDataset((x - 0.2860) / 0.3530, y)

    train = normalised(ember.datasets.fashion_mnist("train"))
    test = normalised(ember.datasets.fashion_mnist("test"))
    model = ember.models.lenet5(padding=2)
    opt = ember.optim.Adam(model.parameters(), lr=4e-3)
    loader = ember.data.DataLoader(train, 32, shuffle=True)
    sched = ember.optim.lr_scheduler.OneCycleLR(opt, max_lr=4e-3, total_steps=2 * len(loader))
    for _ in range(2):
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    acc = _accuracy(model, test)
    assert acc >= 0.89, f"test accuracy {acc:.3f}"
