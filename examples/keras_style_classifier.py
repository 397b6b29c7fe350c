"""A Keras-style image classifier (an MLP) in ember: compile, fit, evaluate, predict, callbacks.

Uses Fashion-MNIST when Debian's dataset-fashion-mnist is installed (a 20,000-image subset,
to stay fast), else scikit-learn's 8x8 digits. Writes a history plot and a CSV log to
./keras-style-out/.

    python examples/keras_style_classifier.py            # a few epochs, seconds
    python examples/keras_style_classifier.py --quick    # or EMBER_QUICK=1
"""

import argparse
import os

import ember
import ember.nn as nn
from ember.train.callbacks import CSVLogger, EarlyStopping, ReduceLROnPlateau


def load(quick: bool):
    """(x_train, y_train), (x_test, y_test) and the class names."""
    try:
        train, test = ember.datasets.fashion_mnist("train"), ember.datasets.fashion_mnist("test")
        n_train, n_test = (5000, 2000) if quick else (20000, 5000)
    except ember.datasets.DatasetError:
        print("Fashion-MNIST is not installed (sudo apt-get install dataset-fashion-mnist): "
              "using scikit-learn's digits")  # fmt: skip
        train, test = ember.datasets.digits("train"), ember.datasets.digits("test")
        n_train, n_test = len(train), len(test)
    (x, y), (xt, yt) = train.tensors, test.tensors
    return (x[:n_train], y[:n_train]), (xt[:n_test], yt[:n_test]), train.classes


def make_model() -> nn.Module:
    # LazyLinear infers its input size on the first batch, as Keras's Dense does, so the same
    # model takes 28x28 Fashion-MNIST and 8x8 digits.
    return nn.Sequential(
        nn.Flatten(),
        nn.LazyLinear(128),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(128, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a smaller subset, 3 epochs")
    parser.add_argument("--out", default="keras-style-out")
    args = parser.parse_args()
    quick = args.quick or bool(os.environ.get("EMBER_QUICK"))
    epochs = 3 if quick else args.epochs

    ember.manual_seed(0)
    (x, y), (x_test, y_test), classes = load(quick)
    model = make_model()
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])

    history = model.fit(
        x, y,
        batch_size=64,
        epochs=epochs,
        validation_split=0.1,
        callbacks=[
            EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
            ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1),
            CSVLogger(os.path.join(args.out, "history.csv")),
        ],
        verbose=0 if quick else 1,
    )  # fmt: skip
    model.summary()
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    print(f"test loss {loss:.4f}")
    print(f"test accuracy: {accuracy:.4f}")

    predicted = model.predict(x_test[:5], verbose=0).argmax(1).tolist()
    print("predictions:", [classes[i] for i in predicted])
    print("truth:      ", [classes[i] for i in y_test[:5].tolist()])
    try:
        print("history plot:", history.plot(os.path.join(args.out, "history.png")))
    except ImportError:
        print("(pip install matplotlib for the history plot)")


if __name__ == "__main__":
    main()
