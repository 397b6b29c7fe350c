"""CSVLogger: Keras's file layout (header, one row per epoch), append, separators, fit."""

import csv
import math

import numpy as np
import pytest

import ember
from ember.train.callbacks import CSVLogger


def read_rows(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def run_epochs(logger, epoch_logs, start=0):
    logger.on_train_begin()
    for i, logs in enumerate(epoch_logs):
        logger.on_epoch_end(start + i, logs)
    logger.on_train_end()


def test_header_then_one_row_per_epoch_keys_sorted(tmp_path):
    path = tmp_path / "log.csv"
    logs = [
        {"loss": 0.9, "accuracy": 0.5, "val_loss": 1.25},
        {"loss": 0.4, "accuracy": 0.75, "val_loss": 0.5},
    ]
    run_epochs(CSVLogger(path), logs)
    rows = read_rows(path)
    assert rows[0] == ["epoch", "accuracy", "loss", "val_loss"]
    assert len(rows) == 3
    for i, row in enumerate(rows[1:]):
        assert int(row[0]) == i
        assert [float(v) for v in row[1:]] == [logs[i][k] for k in rows[0][1:]]


def test_float_values_round_trip_exactly(tmp_path):
    path = tmp_path / "log.csv"
    values = [1 / 3, 2.0**-30, 123456.789, float("nan"), float("inf")]
    run_epochs(CSVLogger(path), [{"loss": v} for v in values])
    got = [float(r[1]) for r in read_rows(path)[1:]]
    for a, b in zip(got, values):
        assert a == b or (math.isnan(a) and math.isnan(b))


def test_tensor_and_numpy_scalars_are_written_as_numbers(tmp_path):
    path = tmp_path / "log.csv"
    run_epochs(
        CSVLogger(path),
        [{"a": ember.tensor(0.5), "b": np.float32(0.25), "c": np.int64(3), "d": "text"}],
    )
    assert read_rows(path)[1] == ["0", "0.5", "0.25", "3", "text"]


def test_non_scalar_values_are_one_bracketed_cell(tmp_path):
    path = tmp_path / "log.csv"
    run_epochs(CSVLogger(path), [{"per_class": [0.5, 0.25], "m": np.array([[1, 2]])}])
    assert read_rows(path)[1] == ["0", "[1, 2]", "[0.5, 0.25]"]


def test_separator(tmp_path):
    path = tmp_path / "log.tsv"
    run_epochs(CSVLogger(path, separator="\t"), [{"loss": 0.5, "lr": 0.1}])
    assert path.read_text() == "epoch\tloss\tlr\n0\t0.5\t0.1\n"


def test_overwrites_by_default(tmp_path):
    path = tmp_path / "log.csv"
    run_epochs(CSVLogger(path), [{"loss": 1.0}, {"loss": 0.5}])
    run_epochs(CSVLogger(path), [{"loss": 0.25}])
    assert read_rows(path) == [["epoch", "loss"], ["0", "0.25"]]


def test_append_keeps_rows_and_writes_no_second_header(tmp_path):
    path = tmp_path / "log.csv"
    run_epochs(CSVLogger(path, append=True), [{"loss": 1.0, "acc": 0.5}])
    run_epochs(CSVLogger(path, append=True), [{"acc": 0.75, "loss": 0.5}], start=1)
    assert read_rows(path) == [["epoch", "acc", "loss"], ["0", "0.5", "1.0"], ["1", "0.75", "0.5"]]


def test_append_to_missing_or_empty_file_writes_header(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("")
    run_epochs(CSVLogger(path, append=True), [{"loss": 1.0}])
    assert read_rows(path) == [["epoch", "loss"], ["0", "1.0"]]


def test_missing_values_are_na_and_new_keys_warn(tmp_path):
    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 1.0, "val_loss": 2.0})
    logger.on_epoch_end(1, {"loss": 0.5})
    with pytest.warns(UserWarning, match=r"CSVLogger: \['extra'\] not in the columns"):
        logger.on_epoch_end(2, {"loss": 0.25, "val_loss": 1.0, "extra": 3})
    logger.on_train_end()
    assert read_rows(path)[1:] == [["0", "1.0", "2.0"], ["1", "0.5", "NA"], ["2", "0.25", "1.0"]]


def test_each_row_is_on_disk_before_training_ends(tmp_path):
    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 1.0})
    assert read_rows(path) == [["epoch", "loss"], ["0", "1.0"]]  # a crash now loses nothing
    logger.on_train_end()


def test_creates_the_folder(tmp_path):
    path = tmp_path / "runs" / "a" / "log.csv"
    run_epochs(CSVLogger(str(path)), [{"loss": 1.0}])
    assert path.exists()


def test_bad_separator():
    with pytest.raises(ValueError, match=r"CSVLogger: separator must be one character, got ';;'"):
        CSVLogger("x.csv", separator=";;")


def test_append_to_a_foreign_file_is_refused(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("step;loss\n0;1\n")
    with pytest.raises(
        ValueError, match=r"CSVLogger: cannot append to .*log.csv: its first column"
    ):
        CSVLogger(path, append=True).on_train_begin()


def test_rows_match_fit_history(tmp_path):
    ember.manual_seed(0)
    x = ember.randn(64, 4)
    y = (x.sum(1) > 0).long()
    model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))
    model.compile("adam", "cross_entropy", metrics=["accuracy"])
    path = tmp_path / "fit.csv"
    history = model.fit(
        x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.25,
        callbacks=[CSVLogger(path)],
    )  # fmt: skip
    rows = read_rows(path)
    header = rows[0]
    assert header == ["epoch", *sorted(history.history)]
    assert [int(r[0]) for r in rows[1:]] == history.epoch
    for j, key in enumerate(header[1:], start=1):
        assert [float(r[j]) for r in rows[1:]] == [float(v) for v in history.history[key]]
