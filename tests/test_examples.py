"""Every script in examples/ runs in quick mode and prints a result better than chance."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# script -> the accuracy it must beat in quick mode (chance: 0.1 for 10 classes, 0.5 for 2).
THRESHOLDS = {
    "keras_style_classifier.py": 0.5,
    "pytorch_style_loop.py": 0.6,
    "text_classifier.py": 0.75,
}


def run(script, *args, cwd, env_extra=None):
    # One BLAS thread: the suite runs two workers on two cores already.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=300,
    )  # fmt: skip


def accuracy(stdout: str) -> float:
    match = re.search(r"^test accuracy: ([0-9.]+)$", stdout, re.M)
    assert match, f"no 'test accuracy:' line in:\n{stdout}"
    return float(match.group(1))


def test_every_example_is_tested():
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    assert scripts == set(THRESHOLDS) | {"demo.py"}


# Quick mode is asked for by flag in some runs and by EMBER_QUICK=1 in others: both work.
RUNS = {
    "keras_style_classifier.py": (["--quick", "--out", "out"], {}),
    "pytorch_style_loop.py": (["--quick"], {}),
    "text_classifier.py": ([], {"EMBER_QUICK": "1"}),
}


@pytest.mark.parametrize("script", sorted(THRESHOLDS))
def test_example_quick_mode_beats_chance(script, tmp_path):
    args, env = RUNS[script]
    result = run(script, *args, cwd=tmp_path, env_extra=env)
    assert result.returncode == 0, result.stderr
    assert accuracy(result.stdout) > THRESHOLDS[script]
    if script == "keras_style_classifier.py":
        assert (tmp_path / "out" / "history.png").read_bytes()[:4] == b"\x89PNG"
        rows = (tmp_path / "out" / "history.csv").read_text().splitlines()
        assert rows[0].startswith("epoch,") and len(rows) == 4  # header + 3 quick epochs
    if script == "pytorch_style_loop.py":
        assert result.stdout.count("epoch ") == 2  # quick mode: two epochs
    if script == "text_classifier.py":
        assert result.stdout.count("% positive") == 4


def test_text_classifier_reads_negation():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import text_classifier as tc
    finally:
        sys.path.remove(str(EXAMPLES))
    import numpy as np

    rng = np.random.default_rng(0)
    for _ in range(200):
        words, label = tc.make_sentence(rng)
        score = 0
        for i, w in enumerate(words):
            sign = 1 if w in tc.POSITIVE else -1 if w in tc.NEGATIVE else 0
            if sign and i and words[i - 1] in tc.NEGATORS:
                sign = -sign
            score += sign
        assert score != 0 and label == int(score > 0)
    ids = tc.encode([["the", "movie", "was", "not", "bad"]])
    assert ids.shape == (1, tc.MAX_LEN) and ids[0, : tc.MAX_LEN - 5].tolist() == [0] * 11


def test_demo_script_is_the_ember_demo_command(tmp_path):
    result = run("demo.py", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ember demo")
