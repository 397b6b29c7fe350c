"""Reference models used by the demo, the benchmarks and the parity tests.

Each builder takes the ``nn`` namespace to build with, so the very same definition yields an
ember model or its PyTorch twin (``ember.nn`` and ``torch.nn`` share the API):

>>> import ember
>>> net = ember.models.lenet5()
>>> net(ember.zeros(2, 1, 28, 28)).shape
(2, 10)
"""

from __future__ import annotations


def _default_nn(nn):
    if nn is None:
        import ember.nn

        return ember.nn
    return nn


def mlp(nn=None, sizes=(784, 256, 128, 10)):
    """A ReLU multilayer perceptron (784-256-128-10 by default)."""
    nn = _default_nn(nn)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def lenet5(nn=None, num_classes=10, padding=0):
    """LeNet-5 for 1x28x28 images (ReLU and max-pooling, as it is trained today).

    ``padding=2`` is LeCun's original layout (the 28x28 image padded to 32x32, 16x5x5
    features before the classifier); the default feeds the 28x28 image as it is (16x4x4).
    """
    nn = _default_nn(nn)
    features = 16 * (4 + padding // 2) ** 2
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=padding),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(features, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, num_classes),
    )
