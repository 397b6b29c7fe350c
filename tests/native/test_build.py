"""Building and loading the native library: cache, atomic writes, failures, the off switch."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import ember.native
from ember.native import build

needs_cc = pytest.mark.skipif(build.compiler() is None, reason="no C compiler on this machine")


@needs_cc
def test_the_library_is_loaded_where_there_is_a_compiler():
    assert ember.native.status() == "loaded"
    assert ember.native.kernel("softmax", np.dtype(np.float32)) is not None


@needs_cc
def test_build_caches_one_library_per_source(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_CACHE_DIR", str(tmp_path))
    handle, why = build.load()
    assert handle is not None and why == ""
    (lib,) = tmp_path.glob("ember-native-*.so")
    assert lib == build.library_path(build.compiler())
    stamp = lib.stat().st_mtime_ns
    assert build.load()[0] is not None and lib.stat().st_mtime_ns == stamp  # not rebuilt
    assert [p.name for p in tmp_path.iterdir()] == [lib.name]  # no temporary left behind


@needs_cc
def test_a_changed_source_gets_another_library(tmp_path, monkeypatch):
    src = tmp_path / "src"
    shutil.copytree(build._HERE, src, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(build, "_HERE", src)
    before = build.library_path(build.compiler())
    with open(src / "rows.c", "a") as f:
        f.write("\n/* changed */\n")
    assert build.library_path(build.compiler()) != before


def test_a_failing_compiler_gives_none_and_its_message(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CC", shutil.which("false") or "false")
    handle, why = build.load()
    assert handle is None and "failed" in why
    assert list(tmp_path.glob("*.so")) == []  # the temporary file is removed


def test_no_compiler_gives_none(monkeypatch):
    monkeypatch.setenv("CC", "no-such-compiler-here")
    handle, why = build.load()
    assert handle is None and "no C compiler" in why


def test_ember_native_0_runs_the_numpy_kernels():
    code = (
        "import numpy as np, ember, ember.native;"
        "x = ember.tensor(np.array([[1.0, 2.0, 3.0]], np.float32));"
        "print(ember.native.status(), ember.nn.functional.softmax(x, 1).numpy().sum())"
    )
    env = {**os.environ, "EMBER_NATIVE": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    status, total = out.stdout.split()
    assert status == "disabled" and abs(float(total) - 1) < 1e-6
