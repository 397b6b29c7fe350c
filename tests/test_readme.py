"""The README's examples run as printed: the loss falls, fit trains the same model, and the
compiled training step trains it further and prints its graph."""

import pathlib
import re


def test_readme_examples_run(capsys, tmp_path, monkeypatch):
    readme = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    final = float(capsys.readouterr().out.split()[-1])
    assert final < 0.9  # starts near ln(3) = 1.10 for random 3-class labels
    exec(compile(blocks[1], "README.md", "exec"), namespace)
    assert len(namespace["history"].history["loss"]) == 5
    assert (tmp_path / "history.png").exists()
    capsys.readouterr()
    exec(compile(blocks[2], "README.md", "exec"), namespace)
    losses = namespace["losses"]
    assert losses[-1] < losses[0]
    printed = capsys.readouterr().out
    assert "linear(" in printed and "README.md:" in printed  # nodes carry the source line
