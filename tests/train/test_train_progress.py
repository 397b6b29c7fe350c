"""The progress bar in a real pseudo-terminal (redrawn in place) and on a pipe (one clean line
per epoch), run in subprocesses."""

import fcntl
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import textwrap

import pytest

import ember
from ember.train.callbacks import ProgressBar

SCRIPT = textwrap.dedent(
    """
    import sys
    import ember
    from ember.train.callbacks import ProgressBar

    verbose = int(sys.argv[1])
    ember.manual_seed(0)
    x = ember.randn(640, 8)
    y = (x.sum(1) > 0).long()
    model = ember.nn.Sequential(ember.nn.Linear(8, 16), ember.nn.ReLU(), ember.nn.Linear(16, 2))
    model.compile("adam", "cross_entropy", metrics=["accuracy"])
    callbacks = [ProgressBar(refresh=0)] if verbose == 1 else []
    model.fit(x, y, batch_size=32, epochs=3, validation_split=0.25, verbose=verbose,
              callbacks=callbacks)
    print("DONE")
    """
)

LINE = re.compile(
    r"^Epoch (\d)/3 - 15/15 - \d+\.\ds - \d+\.\dms/step - [\d,]+ samples/s - "
    r"loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}$"
)


def run_in_pty(script_path, *args, timeout=60.0) -> str:
    """Run a script with stdout/stderr on a pseudo-terminal; return everything it wrote."""
    master, slave = pty.openpty()
    # a 30 x 120 window, as a terminal emulator would set it
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, script_path, *args],
        stdout=slave,
        stderr=slave,
        stdin=slave,
        env={**os.environ, "COLUMNS": "120", "LINES": "30", "TERM": "xterm"},
    )
    os.close(slave)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                raise TimeoutError("the script under the pty produced no output in time")
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        proc.wait(timeout=timeout)
        os.close(master)
    assert proc.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(SCRIPT)
    return str(path)


def test_progress_bar_redraws_in_place_on_a_terminal(script):
    out = run_in_pty(script, "1")
    assert "DONE" in out
    # each epoch's bar is redrawn with carriage returns: many frames, one final line per epoch
    frames = re.split(r"[\r\n]+", out)
    for epoch in (1, 2, 3):
        mine = [f for f in frames if f.startswith(f"Epoch {epoch}/3:")]
        assert len(mine) >= 3, mine  # the live bar, redrawn several times in place
        assert any(re.search(r"\d+/15 \[\d\d:\d\d<\d\d:\d\d", f) for f in mine)  # elapsed<ETA
        assert any("samples/s - loss: " in f and "accuracy: " in f for f in mine)  # running
    # when an epoch ends its bar is replaced by the full summary line
    summaries = [f.strip() for f in frames if LINE.match(f.strip().replace("\x1b[A", ""))]
    assert [LINE.match(f).group(1) for f in summaries] == ["1", "2", "3"], frames
    assert out.count("\r") > 9


def test_verbose_2_on_a_terminal_prints_one_line_per_epoch(script):
    out = run_in_pty(script, "2")
    lines = [ln for ln in out.replace("\r\n", "\n").split("\n") if ln.startswith("Epoch")]
    assert [LINE.match(ln).group(1) for ln in lines] == ["1", "2", "3"]
    assert "\r" not in out.replace("\r\n", "\n")


def test_one_clean_line_per_epoch_on_a_pipe(script):
    proc = subprocess.run(
        [sys.executable, script, "1"], capture_output=True, text=True, timeout=120, check=True
    )
    lines = proc.stdout.splitlines()
    assert lines[-1] == "DONE"
    assert [LINE.match(ln).group(1) for ln in lines[:-1]] == ["1", "2", "3"], lines
    assert "\r" not in proc.stdout and proc.stderr == ""


def test_verbose_0_is_silent_and_evaluate_prints_one_line(capsys):
    model = ember.nn.Linear(3, 2)
    model.compile("sgd", "cross_entropy", metrics=["accuracy"])
    x, y = ember.randn(10, 3), ember.randint(0, 2, (10,))
    model.fit(x, y, epochs=2, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""
    model.evaluate(x, y, batch_size=4)
    out = capsys.readouterr().out
    assert re.fullmatch(
        r"Evaluate - 3/3 - \d+\.\ds - \d+\.\dms/step - [\d,]+ samples/s - loss: \d\.\d{4} - "
        r"accuracy: \d\.\d{4}\n",
        out,
    ), out


def test_value_formatting_and_lr_hidden():
    stream = io.StringIO()
    bar = ProgressBar(stream=stream)
    bar.set_params({"epochs": 1, "steps": None, "verbose": 1})
    bar.on_train_begin()
    bar.on_epoch_begin(0)
    bar.on_train_batch_end(0, {"loss": 1e-6})
    bar.on_epoch_end(0, {"loss": 1.5e-6, "big": 123456.0, "nan": float("nan"), "lr": 0.1})
    line = stream.getvalue()
    assert line.startswith("Epoch 1/1 - 1/1 - ")
    assert line.endswith("loss: 1.5000e-06 - big: 1.2346e+05 - nan: nan\n")
