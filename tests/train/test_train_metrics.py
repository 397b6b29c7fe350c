"""Streaming metrics against scikit-learn on random predictions, streamed over uneven batches."""

import numpy as np
import pytest
from sklearn import metrics as skm

import ember
from ember.errors import EmberValueError
from ember.train import metrics as M

N, C = 257, 7
SPLITS = [0, 1, 33, 100, 101, 200, N]  # uneven batches, one of a single sample, one empty


def stream(metric, y_pred, y_true):
    metric.reset_state()
    for a, b in zip(SPLITS[:-1], SPLITS[1:]):
        if b > a:
            metric.update_state(y_pred[a:b], y_true[a:b])
    return metric.result()


def at_once(metric, y_pred, y_true):
    metric.reset_state()
    metric.update_state(y_pred, y_true)
    return metric.result()


def check(metric, y_pred, y_true, expected):
    np.testing.assert_allclose(stream(metric, y_pred, y_true), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(at_once(metric, y_pred, y_true), expected, rtol=1e-12, atol=1e-15)


@pytest.fixture
def multi():
    rng = np.random.default_rng(0)
    return rng.standard_normal((N, C)), rng.integers(0, C, N)


@pytest.fixture
def binary():
    rng = np.random.default_rng(1)
    return rng.random(N), rng.integers(0, 2, N)


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_accuracy_multiclass_and_one_hot(multi):
    scores, labels = multi
    expected = skm.accuracy_score(labels, scores.argmax(1))
    check(M.Accuracy(), scores, labels, expected)
    check(M.Accuracy(), scores, np.eye(C)[labels], expected)
    check(M.Accuracy(), ember.tensor(scores), ember.tensor(labels), expected)


@pytest.mark.parametrize("shape", [(N,), (N, 1)])
def test_accuracy_binary_threshold(binary, shape):
    scores, labels = binary
    expected = skm.accuracy_score(labels, scores > 0.5)
    check(M.Accuracy(), scores.reshape(shape), labels, expected)
    logits = np.log(scores / (1 - scores))
    check(M.Accuracy(from_logits=True), logits.reshape(shape), labels, expected)
    check(M.Accuracy(threshold=0.3), scores, labels, skm.accuracy_score(labels, scores > 0.3))


def test_accuracy_multilabel_elementwise():
    rng = np.random.default_rng(2)
    scores, labels = rng.random((N, 3)), rng.integers(0, 2, (N, 3)).astype(np.float32)
    expected = np.mean((scores > 0.5) == labels)
    check(M.Accuracy(binary=True), scores, labels, expected)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_top_k_accuracy(multi, k):
    scores, labels = multi
    expected = skm.top_k_accuracy_score(labels, scores, k=k, labels=range(C))
    check(M.TopKAccuracy(k), scores, labels, expected)


@pytest.mark.parametrize(
    "cls, fn",
    [(M.Precision, skm.precision_score), (M.Recall, skm.recall_score), (M.F1Score, skm.f1_score)],
)
def test_precision_recall_f1_binary(binary, cls, fn):
    scores, labels = binary
    expected = fn(labels, scores > 0.5, zero_division=0)
    check(cls(), scores, labels, expected)
    check(cls(average="binary"), scores[:, None], labels, expected)
    logits = np.log(scores / (1 - scores))
    check(cls(from_logits=True), logits, labels, expected)


@pytest.mark.parametrize("average", ["macro", "micro", "weighted"])
@pytest.mark.parametrize(
    "cls, fn",
    [(M.Precision, skm.precision_score), (M.Recall, skm.recall_score), (M.F1Score, skm.f1_score)],
)
def test_precision_recall_f1_multiclass(multi, cls, fn, average):
    scores, labels = multi
    scores = scores.copy()
    scores[:, 3] -= 10  # class 3 is never predicted: its precision is 0/0 -> 0
    expected = fn(labels, scores.argmax(1), average=average, zero_division=0)
    check(cls(average=average), scores, labels, expected)
    if average == "macro":
        check(cls(), scores, labels, expected)  # 'auto' is macro for multi-class outputs


def test_macro_ignores_classes_absent_from_labels_and_predictions(multi):
    scores, labels = multi
    labels = np.where(labels == 4, 0, labels)
    scores = scores.copy()
    scores[:, 4] -= 10
    expected = skm.f1_score(labels, scores.argmax(1), average="macro", zero_division=0)
    check(M.F1Score(), scores, labels, expected)


def test_auc_binary_exact_with_ties(binary):
    scores, labels = binary
    check(M.AUC(), scores, labels, skm.roc_auc_score(labels, scores))
    tied = np.round(scores, 1)  # many ties: each counts one half
    check(M.AUC(), tied, labels, skm.roc_auc_score(labels, tied))
    check(M.AUC(), tied[:, None], labels, skm.roc_auc_score(labels, tied))


def test_auc_multiclass_ovr_macro(multi):
    logits, labels = multi
    probs = softmax(logits)
    expected = skm.roc_auc_score(labels, probs, multi_class="ovr", average="macro")
    check(M.AUC(), probs, labels, expected)
    check(M.AUC(from_logits=True), logits, labels, expected)


def test_auc_without_both_classes_is_nan():
    m = M.AUC()
    m.update_state(np.array([0.2, 0.9]), np.array([1, 1]))
    assert np.isnan(m.result())
    assert np.isnan(M.AUC().result())


@pytest.mark.parametrize(
    "cls, fn",
    [(M.MeanAbsoluteError, skm.mean_absolute_error), (M.MeanSquaredError, skm.mean_squared_error)],
)
def test_regression_errors(cls, fn):
    rng = np.random.default_rng(3)
    pred, true = rng.standard_normal((N, 1)), rng.standard_normal(N)
    check(cls(), pred, true, fn(true, pred[:, 0]))  # (N,) targets vs (N, 1) outputs: row-wise
    pred2, true2 = rng.standard_normal((N, 3)), rng.standard_normal((N, 3))
    check(cls(), pred2, true2, fn(true2.ravel(), pred2.ravel()))


def test_mean_metric_wrapper_weights_batches_by_size():
    rng = np.random.default_rng(4)
    pred, true = rng.standard_normal(N), rng.standard_normal(N)

    def mean_abs(y_pred, y_true):
        return (y_pred - y_true).abs().mean()

    def per_sample(y_pred, y_true):
        return (y_pred - y_true).abs()

    expected = skm.mean_absolute_error(true, pred)
    check(M.MeanMetricWrapper(mean_abs), pred, true, expected)
    check(M.MeanMetricWrapper(per_sample), pred, true, expected)
    assert M.MeanMetricWrapper(mean_abs).name == "mean_abs"


def test_mean_tracks_weighted_values():
    m = M.Mean()
    values, weights = [0.5, 2.0, 1.0], [32, 32, 7]
    for v, w in zip(values, weights):
        m.update_state(v, w)
    assert m.result() == pytest.approx(np.average(values, weights=weights), rel=1e-15)


def test_reset_state_starts_over(multi):
    scores, labels = multi
    m = M.F1Score()
    m.update_state(scores, labels)
    m.reset_state()
    m.update_state(scores[:50], labels[:50])
    expected = skm.f1_score(labels[:50], scores[:50].argmax(1), average="macro", zero_division=0)
    assert m.result() == pytest.approx(expected, rel=1e-12)


def test_metric_argument_errors():
    with pytest.raises(EmberValueError, match="TopKAccuracy: k must be >= 1, got 0"):
        M.TopKAccuracy(0)
    with pytest.raises(EmberValueError, match="Precision: average must be one of .* got 'samples'"):
        M.Precision(average="samples")
    with pytest.raises(EmberValueError, match=r"threshold must be in \(0, 1\), got 1.5"):
        M.Accuracy(threshold=1.5)
    with pytest.raises(EmberValueError, match=r"Recall: average='binary' needs .* shape \(4, 3\)"):
        M.Recall(average="binary").update_state(np.zeros((4, 3)), np.zeros(4, np.int64))
    with pytest.raises(EmberValueError, match=r"TopKAccuracy: expected outputs of shape \(N, C\)"):
        M.TopKAccuracy(2).update_state(np.zeros(4), np.zeros(4, np.int64))
