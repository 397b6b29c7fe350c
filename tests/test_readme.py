"""The README's example runs as printed and its loss falls."""

import pathlib
import re


def test_readme_example_runs(capsys):
    readme = pathlib.Path(__file__).parents[1] / "README.md"
    code = re.search(r"## A taste\n\n```python\n(.*?)```", readme.read_text(), re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    final = float(capsys.readouterr().out.split()[-1])
    assert final < 0.9  # starts near ln(3) = 1.10 for random 3-class labels
