"""The README's examples run as printed: the loss falls, and fit trains the same model."""

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
