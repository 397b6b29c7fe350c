"""compile / fit / evaluate / predict / train_step on tensors, DataLoaders and Datasets, checked
against hand-written loops (ember and PyTorch) and scikit-learn; bad arguments fail before any
training."""

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

import ember
import ember.nn.functional as F
from ember import nn
from ember.data import DataLoader, TensorDataset
from ember.errors import DTypeError, EmberValueError, ShapeError
from ember.train import callbacks as cb
from ember.train import losses


def mlp(seed=0, dtype=ember.float64):
    ember.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3)).to(dtype)


def data(n=50, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 5))
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    return x, y


def weights(model):
    return {k: v._data.copy() for k, v in model.state_dict().items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


# ---- fit on every kind of data, against hand loops ------------------------------------------


def hand_loop(model, opt, x, y, batch_size, epochs):
    for _ in range(epochs):
        for i in range(0, len(x), batch_size):
            out = model(ember.tensor(x[i : i + batch_size]))
            loss = F.cross_entropy(out, ember.tensor(y[i : i + batch_size]))
            opt.zero_grad()
            loss.backward()
            opt.step()


def test_fit_arrays_dataloader_dataset_match_a_hand_loop_bitwise():
    x, y = data()
    ref = mlp()
    hand_loop(ref, ember.optim.Adam(ref.parameters(), lr=0.01), x, y, 16, 3)
    ds = TensorDataset(ember.tensor(x), ember.tensor(y))
    for source in (
        (x, y),
        (ember.tensor(x), ember.tensor(y)),
        (ds, None),
        (DataLoader(ds, batch_size=16), None),
    ):
        model = mlp()
        model.compile(ember.optim.Adam(model.parameters(), lr=0.01), "cross_entropy")
        model.fit(*source, batch_size=16, epochs=3, shuffle=False, verbose=0)
        assert_same_weights(weights(model), weights(ref))


def test_fit_matches_a_pytorch_loop():
    x, y = data(n=40)
    model = mlp()
    tm = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    tm = tm.double()
    with torch.no_grad():
        for (_, p), (_, q) in zip(model.named_parameters(), tm.named_parameters()):
            q.copy_(torch.from_numpy(p._data))
    opt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    losses_t = []
    for _ in range(4):
        total = 0.0
        for i in range(0, 40, 12):  # uneven last batch
            xb, yb = torch.from_numpy(x[i : i + 12]), torch.from_numpy(y[i : i + 12])
            loss = torch.nn.functional.cross_entropy(tm(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
        losses_t.append(total / 40)
    model.compile(ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), "cross_entropy")
    h = model.fit(x, y, batch_size=12, epochs=4, shuffle=False, verbose=0)
    np.testing.assert_allclose(h.history["loss"], losses_t, rtol=1e-12)
    for (_, p), (_, q) in zip(model.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(p._data, q.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_shuffle_is_seeded_and_changes_the_trajectory():
    x, y = data()
    runs = []
    for shuffle, seed in ((True, 5), (True, 5), (False, 5)):
        model = mlp()
        model.compile("sgd", "cross_entropy")
        ember.manual_seed(seed)
        model.fit(x, y, batch_size=8, epochs=2, shuffle=shuffle, verbose=0)
        runs.append(weights(model))
    assert_same_weights(runs[0], runs[1])
    assert not np.array_equal(runs[0]["0.weight"], runs[2]["0.weight"])


def test_evaluate_loss_and_metrics_are_exact_over_uneven_batches():
    x, y = data(n=53)
    model = mlp()
    model.compile("adam", "cross_entropy", metrics=["accuracy", "f1", "auc", "top_k_accuracy"])
    logs = model.evaluate(x, y, batch_size=10, verbose=0, return_dict=True)
    out = model.predict(x, verbose=0)._data
    t_loss = torch.nn.functional.cross_entropy(torch.from_numpy(out), torch.from_numpy(y))
    probs = torch.softmax(torch.from_numpy(out), 1).numpy()
    np.testing.assert_allclose(logs["loss"], t_loss.item(), rtol=1e-12)
    assert logs["accuracy"] == pytest.approx(skm.accuracy_score(y, out.argmax(1)), rel=1e-12)
    f1 = skm.f1_score(y, out.argmax(1), average="macro", zero_division=0)
    assert logs["f1"] == pytest.approx(f1, rel=1e-12)
    auc = skm.roc_auc_score(y, probs, multi_class="ovr")
    assert logs["auc"] == pytest.approx(auc, rel=1e-12)
    assert logs["top_k_accuracy"] == 1.0  # k=5 >= 3 classes
    as_list = model.evaluate(x, y, batch_size=10, verbose=0)
    assert as_list == list(logs.values())
    model.compile("adam", "cross_entropy")
    assert model.evaluate(x, y, verbose=0) == pytest.approx(t_loss.item(), rel=1e-12)


def test_binary_model_with_logits_metrics():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 5))
    y = (x[:, 0] > 0).astype(np.float64)
    ember.manual_seed(0)
    model = nn.Linear(5, 1).double()
    model.compile("adam", "bce_with_logits", metrics=["accuracy", "precision", "recall", "auc"])
    logs = model.evaluate(x, y, batch_size=7, verbose=0, return_dict=True)
    z = model.predict(x, verbose=0)._data[:, 0]
    pred = z > 0  # sigmoid(z) > 0.5
    assert logs["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), rel=1e-12)
    assert logs["precision"] == pytest.approx(skm.precision_score(y, pred, zero_division=0))
    assert logs["recall"] == pytest.approx(skm.recall_score(y, pred), rel=1e-12)
    assert logs["auc"] == pytest.approx(skm.roc_auc_score(y, z), rel=1e-12)
    t = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.from_numpy(z), torch.from_numpy(y)
    )
    assert logs["loss"] == pytest.approx(t.item(), rel=1e-12)


def test_validation_split_takes_the_last_fraction_before_shuffling():
    x, y = data(n=40)
    model = mlp()
    model.compile("sgd", "cross_entropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0, batch_size=8)
    val = model.evaluate(x[30:], y[30:], verbose=0, return_dict=True)
    assert h.history["val_loss"][-1] == val["loss"]
    assert h.history["val_accuracy"][-1] == val["accuracy"]
    model2 = mlp()
    model2.compile("sgd", "cross_entropy")
    h2 = model2.fit(x, y, epochs=2, validation_data=(x[30:], y[30:]), verbose=0, batch_size=8)
    loader = DataLoader(TensorDataset(ember.tensor(x[30:]), ember.tensor(y[30:])), batch_size=4)
    model3 = mlp()
    model3.compile("sgd", "cross_entropy")
    h3 = model3.fit(x, y, epochs=2, validation_data=loader, verbose=0, batch_size=8)
    assert sorted(h2.history) == ["loss", "lr", "val_loss"]
    assert len(h3.history["val_loss"]) == 2
    # validation_data overrides validation_split (Keras): all 40 samples train, 5 steps
    steps = []
    spy = cb.LambdaCallback(on_train_batch_end=lambda batch, logs: steps.append(batch))
    model3.fit(
        x,
        y,
        epochs=1,
        batch_size=8,
        validation_split=0.5,
        validation_data=(x, y),
        verbose=0,
        callbacks=[spy],
    )
    assert steps == [0, 1, 2, 3, 4]


def test_predict_concatenates_in_eval_mode_and_modes_are_restored():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Dropout(0.5), nn.Linear(8, 2)).double()
    x, y = data(n=23)
    model.compile("sgd", "cross_entropy")
    model.eval()
    expected = model(ember.tensor(x))._data
    model.train()
    model[1].eval()  # a per-module mode survives fit/evaluate/predict
    out = model.predict(x, batch_size=5, verbose=0)
    np.testing.assert_allclose(out._data, expected, rtol=1e-14)
    assert not out.requires_grad
    model.fit(x, y % 2, epochs=1, verbose=0, validation_split=0.2)
    model.evaluate(x, y % 2, verbose=0)
    assert model.training and model[0].training and not model[1].training
    ds = TensorDataset(ember.tensor(x), ember.tensor(y))
    np.testing.assert_array_equal(
        model.predict(ds, verbose=0)._data, model.predict(DataLoader(ds, 4), verbose=0)._data
    )


def test_steps_per_epoch_continues_the_iterator():
    firsts = []

    class Recorder(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 1)

        def forward(self, x):
            return self.lin(x)

        def train_step(self, batch):
            firsts.append(int(batch[0]._data[0, 0]))
            return {"loss": 0.0}

    model = Recorder()
    model.compile("sgd", "mse")
    x = np.arange(10, dtype=np.float32)[:, None]
    h = model.fit(x, x, batch_size=2, epochs=3, steps_per_epoch=2, shuffle=False, verbose=0)
    # 5 batches per pass, 2 per epoch: passes run on across epoch boundaries and restart
    assert firsts == [0, 2, 4, 6, 8, 0]
    assert len(h.epoch) == 3


def test_initial_epoch_runs_the_remaining_epochs():
    model = mlp()
    model.compile("sgd", "cross_entropy")
    x, y = data()
    h = model.fit(x, y, epochs=5, initial_epoch=3, verbose=0)
    assert h.epoch == [3, 4]


# ---- custom train_step / test_step -----------------------------------------------------------


class ClippedModel(nn.Module):
    """Custom training logic: gradient clipping and an extra logged value."""

    def __init__(self):
        super().__init__()
        ember.manual_seed(0)
        self.body = nn.Linear(5, 3).double()

    def forward(self, x):
        return self.body(x)

    def train_step(self, batch):
        x, y = batch
        c = self.compiled
        out = self(x)
        loss = c.loss(out, y)
        c.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.parameters(), 0.01)
        c.optimizer.step()
        logs = dict(c.update_metrics(loss, out, y))
        logs["grad_clipped"] = 1.0
        return logs

    def test_step(self, batch):
        x, y = batch
        return {"loss": float(self.compiled.loss(self(x), y)._data) * 0 + 42.0}


def test_custom_train_step_and_test_step():
    x, y = data(n=20)
    model = ClippedModel()
    model.compile(ember.optim.SGD(model.parameters(), lr=1.0), "cross_entropy", ["accuracy"])
    h = model.fit(x, y, batch_size=20, epochs=2, shuffle=False, verbose=0, validation_data=(x, y))
    assert h.history["grad_clipped"] == [1.0, 1.0]
    assert h.history["val_loss"] == [42.0, 42.0]
    # the reference: the same two clipped steps by hand
    ref = ClippedModel()
    opt = ember.optim.SGD(ref.parameters(), lr=1.0)
    for _ in range(2):
        loss = F.cross_entropy(ref(ember.tensor(x)), ember.tensor(y))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(ref.parameters(), 0.01)
        opt.step()
    assert_same_weights(weights(model), weights(ref))


# ---- compile: names and objects ------------------------------------------------------------


@pytest.mark.parametrize(
    "name, cls, lr",
    [
        ("sgd", "SGD", 0.01),
        ("adam", "Adam", 0.001),
        ("adamw", "AdamW", 0.001),
        ("rmsprop", "RMSprop", 0.001),
        ("Adam", "Adam", 0.001),
    ],
)
def test_optimizer_names_use_keras_default_lrs(name, cls, lr):
    model = mlp()
    model.compile(name, "mse")
    opt = model.compiled.optimizer
    assert type(opt).__name__ == cls and opt.param_groups[0]["lr"] == lr
    assert {id(p) for p in opt.param_groups[0]["params"]} == {id(p) for p in model.parameters()}


def test_losses_by_name_against_pytorch():
    rng = np.random.default_rng(0)
    out = rng.standard_normal((6, 1))
    probs = 1 / (1 + np.exp(-out))
    target = rng.integers(0, 2, 6)  # (N,) int labels against (N, 1) outputs
    tf = torch.nn.functional
    t_out, t_t = torch.from_numpy(out), torch.from_numpy(target.astype(np.float64)[:, None])
    cases = {
        "mse": (out, tf.mse_loss(t_out, t_t)),
        "mae": (out, tf.l1_loss(t_out, t_t)),
        "huber": (out, tf.huber_loss(t_out, t_t)),
        "bce": (probs, tf.binary_cross_entropy(torch.from_numpy(probs), t_t)),
        "bce_with_logits": (out, tf.binary_cross_entropy_with_logits(t_out, t_t)),
        "binary_crossentropy": (probs, tf.binary_cross_entropy(torch.from_numpy(probs), t_t)),
    }
    for name, (pred, expected) in cases.items():
        got = losses.get(name)(ember.tensor(pred), ember.tensor(target))
        assert got.shape == () and float(got) == pytest.approx(expected.item(), rel=1e-12), name
    logits = rng.standard_normal((6, 4))
    labels = rng.integers(0, 4, 6).astype(np.int32)  # any integer dtype is accepted
    onehot = np.eye(4)[labels]
    ce = tf.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels.astype(np.int64)))
    for name, t in (
        ("cross_entropy", labels),
        ("sparse_categorical_crossentropy", labels),
        ("categorical_crossentropy", onehot),
        ("cross_entropy", onehot),
    ):
        got = losses.get(name)(ember.tensor(logits), ember.tensor(t))
        assert float(got) == pytest.approx(ce.item(), rel=1e-12), name


def test_callable_loss_and_metric():
    x, y = data()

    def my_loss(y_pred, y_true):
        return F.cross_entropy(y_pred, y_true) * 2

    def error_rate(y_pred, y_true):
        return (y_pred.argmax(1) != y_true).float().mean()

    model = mlp()
    model.compile("sgd", my_loss, metrics=[error_rate, "accuracy"])
    logs = model.evaluate(x, y, verbose=0, return_dict=True, batch_size=7)
    assert logs["error_rate"] == pytest.approx(1 - logs["accuracy"], abs=1e-7)  # float32 mean
    out = model.predict(x, verbose=0)
    assert logs["loss"] == pytest.approx(2 * float(F.cross_entropy(out, ember.tensor(y))))


def test_lazy_layers_are_built_before_the_optimizer():
    ember.manual_seed(0)
    model = nn.Sequential(nn.LazyConv2d(4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    model.compile("adam", "cross_entropy")
    assert model.compiled.optimizer is None
    x = ember.randn(8, 2, 8, 8)
    y = ember.randint(0, 2, (8,))
    model.fit(x, y, epochs=1, verbose=0)
    assert len(model.compiled.optimizer.param_groups[0]["params"]) == 4
    assert model[0].weight.shape == (4, 2, 3, 3)


# ---- bad arguments fail before any training --------------------------------------------------


BAD_FIT = [
    (
        dict(y=np.zeros(49, np.int64)),
        ShapeError,
        r"fit: x and y must have the same number of samples, got x with 50 \(shape \(50, 5\)\) "
        r"and y with 49",
    ),
    (
        dict(y=np.zeros(50)),
        DTypeError,
        r"fit: loss 'cross_entropy' expects integer class indices as labels, got float64 labels",
    ),
    (
        dict(validation_data=(np.zeros((4, 5)), np.zeros(4))),
        DTypeError,
        r"fit: loss 'cross_entropy' expects integer class indices as labels, got float64",
    ),
    (
        dict(x="loader", y=None, validation_split=0.2),
        EmberValueError,
        r"fit: validation_split needs tensors/arrays or a map-style Dataset, not a DataLoader",
    ),
    (dict(validation_split=1.0), EmberValueError, r"fit: validation_split must be in \[0, 1\)"),
    (
        dict(validation_split=0.99),
        EmberValueError,
        r"fit: validation_split=0.99 of 50 samples leaves no training samples",
    ),
    (
        dict(validation_split=1e-17),
        EmberValueError,
        r"fit: validation_split=1e-17 of 50 samples leaves no validation samples",
    ),
    (dict(x="loader"), EmberValueError, r"fit: y must be None when x is a DataLoader"),
    (dict(batch_size=0), EmberValueError, r"fit: batch_size must be a positive integer, got 0"),
    (dict(verbose=3), EmberValueError, r"fit: verbose must be 'auto', 0, 1 or 2, got 3"),
    (
        dict(epochs=2, initial_epoch=3),
        EmberValueError,
        r"fit: need 0 <= initial_epoch <= epochs, got initial_epoch=3, epochs=2",
    ),
    (dict(steps_per_epoch=0), EmberValueError, r"fit: steps must be a positive integer, got 0"),
    (
        dict(validation_data=(1, 2, 3)),
        EmberValueError,
        r"fit: validation_data must be \(x_val, y_val\), a DataLoader or a Dataset; got a tuple of "
        r"3 items",
    ),
    (
        dict(x=np.zeros((0, 5)), y=np.zeros(0, np.int64)),
        ShapeError,
        r"fit: x has no samples \(shape \(0, 5\)\)",
    ),
    (dict(x=None), EmberValueError, r"fit: x is required"),
]


@pytest.mark.parametrize("kwargs, exc, match", BAD_FIT)
def test_bad_fit_arguments_raise_before_training(kwargs, exc, match):
    x, y = data()
    kwargs = dict(kwargs)
    if isinstance(kwargs.get("x"), str):
        ds = TensorDataset(ember.tensor(x), ember.tensor(y))
        kwargs["x"] = DataLoader(ds, batch_size=8)
        kwargs.setdefault("y", y)
    kwargs.setdefault("x", x)
    kwargs.setdefault("y", y)
    model = mlp()
    model.compile("sgd", "cross_entropy")
    before = weights(model)
    kwargs.setdefault("verbose", 0)
    with pytest.raises(exc, match=match):
        model.fit(**kwargs)
    assert_same_weights(weights(model), before)
    assert model.compiled.optimizer.state == {}


def test_float_labels_in_a_dataset_are_caught_before_training():
    x, y = data()
    ds = TensorDataset(ember.tensor(x), ember.tensor(y.astype(np.float64)))
    model = mlp()
    model.compile("sgd", "sparse_categorical_crossentropy")
    before = weights(model)
    with pytest.raises(DTypeError, match="fit: loss 'sparse_categorical_crossentropy' expects"):
        model.fit(DataLoader(ds, batch_size=8), verbose=0)
    with pytest.raises(DTypeError, match="fit: loss 'sparse_categorical_crossentropy' expects"):
        model.fit(ds, verbose=0)
    model.compile("sgd", "categorical_crossentropy")
    with pytest.raises(
        DTypeError,
        match=r"fit: loss 'categorical_crossentropy' expects float "
        r"one-hot/probability labels of shape \(N, C\), got "
        r"int64",
    ):
        model.fit(x, y, verbose=0)
    assert_same_weights(weights(model), before)


def test_fit_before_compile_and_unknown_names():
    model = mlp()
    x, y = data()
    with pytest.raises(
        EmberValueError,
        match=r"fit: Sequential is not compiled; call "
        r"model.compile\(optimizer, loss, metrics\) first",
    ):
        model.fit(x, y, verbose=0)
    with pytest.raises(EmberValueError, match="evaluate: Sequential is not compiled"):
        model.evaluate(x, y, verbose=0)
    with pytest.raises(EmberValueError, match="compile: unknown loss 'crossentropy'; known"):
        model.compile("sgd", "crossentropy")
    with pytest.raises(EmberValueError, match="compile: unknown optimizer 'adagrad2'; known"):
        model.compile("adagrad2", "mse")
    with pytest.raises(EmberValueError, match="compile: unknown metric 'acuracy'; known"):
        model.compile("sgd", "mse", metrics=["acuracy"])
    with pytest.raises(EmberValueError, match=r"compile: metric name\(s\) \['accuracy'\] appear"):
        model.compile("sgd", "mse", metrics=["accuracy", "accuracy"])
    with pytest.raises(EmberValueError, match="compile: optimizer must be a name .* got int"):
        model.compile(3, "mse")
    with pytest.raises(EmberValueError, match="compile: loss must be a name or a callable"):
        model.compile("sgd", 3)
    with pytest.raises(EmberValueError, match="compile: a metric must be a name, a Metric"):
        model.compile("sgd", "mse", metrics=[3])
    assert "compiled" not in model.__dict__


def test_batches_without_labels_and_odd_batches():
    model = mlp()
    model.compile("sgd", "cross_entropy")
    x, _ = data()
    with pytest.raises(EmberValueError, match=r"train_step: the batch has no labels"):
        model.fit(x, verbose=0)
    ds = TensorDataset(ember.tensor(x), ember.tensor(x), ember.tensor(x))
    with pytest.raises(
        EmberValueError,
        match=r"train_step: expected batches \(x, y\), got a "
        r"tuple of 3 items",
    ):
        model.fit(ds, verbose=0)


# ---- summary ------------------------------------------------------------------------------------


def test_summary_counts_match_pytorch_and_leave_the_model_untouched():
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10)
    )
    tm = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(144, 10),
    )
    model[4].bias.requires_grad_(False)
    state = ember.get_rng_state()
    text = model.summary(input_shape=(1, 8, 8), print_fn=None)
    rows = [line.split() for line in text.splitlines() if line.startswith(" ") and "(" in line]
    assert rows[0][:2] == ["Layer", "(type)"]
    layers = rows[1:]
    assert [r[1] for r in layers] == [
        "(Conv2d)",
        "(BatchNorm2d)",
        "(ReLU)",
        "(Flatten)",
        "(Linear)",
    ]
    assert [int(r[-1]) for r in layers] == [sum(p.numel() for p in m.parameters()) for m in tm]
    assert " ".join(layers[0][2:-1]) == "(None, 4, 6, 6)"
    assert " ".join(layers[3][2:-1]) == "(None, 144)"
    total = sum(p.numel() for p in tm.parameters())
    assert f"Total params: {total:,}" in text
    assert f"Trainable params: {total - 10:,}" in text and "Non-trainable params: 10 (40 B)" in text
    assert ember.get_rng_state() == state
    assert model.training and all("forward" not in m.__dict__ for m in model.modules())
    assert float(model[1].running_mean.abs().sum()) == 0.0  # eval-mode forward: stats untouched


def test_summary_uses_the_shapes_fit_saw_and_tuple_outputs():
    ember.manual_seed(0)

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(20, 8)
            self.rnn = nn.LSTM(8, 6, batch_first=True)
            self.head = nn.Linear(6, 3)

        def forward(self, tokens):
            out, _ = self.rnn(self.embed(tokens))
            return self.head(out[:, -1])

    model = Tagger()
    model.compile("adam", "cross_entropy")
    assert "?" in model.summary(print_fn=None)  # no shape known yet
    model.fit(ember.randint(0, 20, (12, 7)), ember.randint(0, 3, (12,)), epochs=1, verbose=0)
    printed = []
    text = model.summary(print_fn=printed.append)
    assert printed == [text]
    assert "embed (Embedding)" in text and "(None, 7, 8)" in text
    assert "[(None, 7, 6), [(1, None, 6), (1, None, 6)]]" in text  # LSTM: out, (h, c)
    assert "(None, 3)" in text
