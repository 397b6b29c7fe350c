"""A PyTorch-style training loop in ember: DataLoader, model, optimizer, LR scheduler.

Trains a small CNN on scikit-learn's 8x8 handwritten digits (offline, ~1,400 training
images) and prints the test accuracy after every epoch.

    python examples/pytorch_style_loop.py            # 8 epochs, a few seconds
    python examples/pytorch_style_loop.py --quick    # or EMBER_QUICK=1: 2 epochs
"""

import argparse
import os

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.data import DataLoader


def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 8x8 -> 4x4
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 64),
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.Linear(64, 10),
    )


def accuracy(model: nn.Module, loader: DataLoader) -> float:
    model.eval()
    correct = total = 0
    with ember.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
            total += len(y)
    return correct / total


def train_one_epoch(model, loader, optimizer, scheduler) -> float:
    model.train()
    total_loss, batches = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        optimizer.step()
        scheduler.step()  # OneCycleLR steps once per batch
        total_loss += loss.item()
        batches += 1
    return total_loss / batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="2 epochs (also: EMBER_QUICK=1)")
    args = parser.parse_args()
    epochs = 2 if args.quick or os.environ.get("EMBER_QUICK") else args.epochs

    ember.manual_seed(0)
    train_set, test_set = ember.datasets.digits("train"), ember.datasets.digits("test")
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=256)

    model = make_model()
    optimizer = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    scheduler = ember.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=len(train_loader)
    )
    for epoch in range(epochs):
        loss = train_one_epoch(model, train_loader, optimizer, scheduler)
        acc = accuracy(model, test_loader)
        lr = scheduler.get_last_lr()[0]
        print(f"epoch {epoch + 1}/{epochs}  loss {loss:.4f}  test accuracy {acc:.4f}  lr {lr:.4f}")
    print(f"test accuracy: {acc:.4f}")


if __name__ == "__main__":
    main()
