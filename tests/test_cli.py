"""The ``ember`` command: ``info``, ``demo``, argument errors, ``python -m ember``."""

import csv
import json
import os
import platform
import re
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest

import ember
import ember.datasets.sources
import ember.demo
from ember.cli import EXTRAS, collect_info, main

# Each subprocess gets one BLAS thread: the suite already runs two workers on two cores, and
# oversubscribed OpenBLAS threads slow small matrix products down a hundredfold.
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def run_ember(*args, cwd=None, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", "ember", *args],
        capture_output=True, text=True, env=ENV, cwd=cwd, timeout=timeout,
    )  # fmt: skip


@pytest.fixture
def one_blas_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture
def no_fashion(tmp_path, monkeypatch):
    empty = tmp_path / "no-fashion-here"
    empty.mkdir()
    monkeypatch.setattr(ember.datasets.sources, "FASHION_MNIST_DIRS", (str(empty),))


# ---- info ---------------------------------------------------------------------------------


def test_info_reports_versions_blas_cpus(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"^ember\s+{re.escape(ember.__version__)} ", out, re.M)
    assert re.search(rf"^Python\s+{re.escape(platform.python_version())} ", out, re.M)
    assert re.search(rf"^NumPy\s+{re.escape(np.__version__)}$", out, re.M)
    assert re.search(rf"^CPUs\s+{os.cpu_count()} \(", out, re.M)
    from threadpoolctl import threadpool_info

    blas = next(p for p in threadpool_info() if p["user_api"] == "blas")
    line = next(line for line in out.splitlines() if line.startswith("BLAS"))
    assert blas["internal_api"] in line and blas["version"] in line
    assert f"kernel {blas['architecture']}, {blas['num_threads']} threads" in line
    for name in EXTRAS:
        assert re.search(rf"^  {re.escape(name)}\s", out, re.M)


def test_info_extras_match_installed_distributions():
    extras = collect_info()["extras"]
    assert extras["torch"] == metadata.version("torch")
    assert extras["tensorboardX"] == metadata.version("tensorboardX")
    assert set(extras) == set(EXTRAS)


def test_info_fashion_mnist_status_matches_the_disk(capsys):
    folder = "/usr/share/datasets/fashion-mnist"
    installed = os.path.exists(os.path.join(folder, "train-images-idx3-ubyte.gz"))
    assert collect_info()["fashion_mnist"]["installed"] == installed
    main(["info"])
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Fashion-MNIST"))
    assert line.split(None, 1)[1].startswith("installed" if installed else "not installed")


def test_info_says_how_to_install_fashion_mnist(no_fashion, capsys):
    main(["info"])
    out = capsys.readouterr().out
    assert "Fashion-MNIST not installed: sudo apt-get install dataset-fashion-mnist" in out


def test_info_without_threadpoolctl_falls_back_to_numpy_config(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    blas = collect_info()["blas"]
    expected = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    assert (blas["library"], blas["version"]) == (expected["name"], expected["version"])
    main(["info"])
    assert "numpy.show_config" in capsys.readouterr().out


def test_info_json(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["numpy"] == np.__version__
    assert info["ember"]["version"] == ember.__version__
    assert info["cpus"]["count"] == os.cpu_count()


# ---- command line plumbing ------------------------------------------------------------------


def test_python_dash_m_ember_version():
    out = run_ember("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"ember {ember.__version__}"


def test_console_script_is_registered():
    (entry,) = [e for e in metadata.entry_points(group="console_scripts") if e.name == "ember"]
    assert entry.value == "ember.cli:main"
    assert entry.load() is main


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    assert "usage: ember" in out and "info" in out and "demo" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["demo", "--epochs", "0"], r"argument --epochs: expected a positive integer, got 0"),
        (["demo", "--batch-size", "x"], r"argument --batch-size: expected a positive integer"),
        (["demo", "--dataset", "cifar"], r"argument --dataset: invalid choice: 'cifar'"),
        (["train"], r"argument COMMAND: invalid choice: 'train'"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    assert re.search(message, capsys.readouterr().err)


def test_demo_help_lists_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--epochs", "--quick", "--out", "--dataset", "--tensorboard"):
        assert option in out


def test_demo_missing_dataset_is_a_clear_error(no_fashion, tmp_path, capsys):
    code = main(["demo", "--dataset", "fashion-mnist", "--out", str(tmp_path / "o")])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("ember demo: error: fashion_mnist: the train files were not found")
    assert "sudo apt-get install dataset-fashion-mnist" in err


def test_demo_out_is_a_file_is_a_clear_error(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("")
    assert main(["demo", "--quick", "--dataset", "digits", "-q", "--out", str(target)]) == 1
    assert re.match(r"ember demo: error: .*File exists.*taken", capsys.readouterr().err)


# ---- the demo itself ------------------------------------------------------------------------


def test_demo_quick_end_to_end(tmp_path, one_blas_thread):
    out_dir = tmp_path / "out"
    result = run_ember("demo", "--quick", "--out", str(out_dir), "--tensorboard", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    acc = float(re.search(r"^test accuracy: ([0-9.]+)", text, re.M).group(1))
    assert acc > 0.4  # 10 classes: chance is 0.1
    assert re.search(rf"test accuracy {acc:.4f} \(the same\)", text)
    assert "Epoch 1/" in text  # fit's progress report

    # The checkpoint, loaded here independently, scores what the demo printed.
    model = ember.demo.lenet5()
    model.load_state_dict(ember.load(out_dir / "lenet5.safetensors"))
    model.compile("adam", "cross_entropy", ["accuracy"])
    name, _, train, test = ember.demo.load_data("auto", say=lambda *_: None)
    test = ember.demo._subset(test, ember.demo.QUICK_TEST, 1)
    assert round(model.evaluate(*test, verbose=0)[1], 4) == acc

    assert (out_dir / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(out_dir / "history.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["epoch", "accuracy", "loss"] and len(rows) == 2
    assert sorted(os.listdir(out_dir / "logs")) == ["train", "validation"]


def test_demo_falls_back_to_digits_and_says_how_to_install(no_fashion, tmp_path, one_blas_thread):
    said = []
    result = ember.demo.run(quick=True, out=str(tmp_path), verbose=0, say=said.append)
    assert result["dataset"] == "digits (upsampled)"
    assert any("sudo apt-get install dataset-fashion-mnist" in s for s in said)
    assert result["test_accuracy"] > 0.3
    assert result["reloaded_accuracy"] == result["test_accuracy"]
    assert len(result["history"]["loss"]) == 3


def test_demo_digits_are_upsampled_to_28x28():
    name, classes, (x, y), (xt, yt) = ember.demo.load_data("digits", say=None)
    assert tuple(x.shape[1:]) == (1, 28, 28) and tuple(xt.shape[1:]) == (1, 28, 28)
    assert len(x) == len(y) and len(classes) == 10
    import torch

    raw = ember.datasets.digits("train").tensors[0].numpy()
    ref = torch.nn.functional.interpolate(torch.from_numpy(raw), size=(28, 28), mode="bilinear")
    np.testing.assert_allclose(x.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


def test_demo_rejects_unknown_dataset():
    with pytest.raises(ValueError, match=r"demo: dataset must be 'auto', 'fashion-mnist' or"):
        ember.demo.load_data("cifar")


def test_demo_without_matplotlib_or_tqdm_still_runs(tmp_path, monkeypatch, one_blas_thread, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    said = []
    with pytest.raises(ImportError):
        import matplotlib  # noqa: F401  (the block works)
    result = ember.demo.run(
        quick=True, epochs=1, out=str(tmp_path), verbose=1, say=said.append, dataset="digits"
    )
    assert "Epoch 1/1" in capsys.readouterr().out  # the progress report, without tqdm
    assert result["paths"]["plot"] is None
    assert not (tmp_path / "history.png").exists()
    assert any(
        s.startswith("note: no history plot") and "pip install matplotlib" in s for s in said
    )
    assert result["reloaded_accuracy"] == result["test_accuracy"]


def test_info_says_whether_the_c_kernels_run(capsys):
    import ember.native
    import ember.native.dispatch

    main(["info"])
    out = capsys.readouterr().out
    assert f"C kernels     {ember.native.status()}" in out
    assert f"Dispatcher    {ember.native.dispatch.status()}" in out
    with ember.native.use(False):
        assert collect_info()["native_kernels"] == "disabled"
