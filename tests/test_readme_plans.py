"""The README's "Plans that change" section: every ```python block runs, in order, in one namespace (its
asserts are the examples' claims)."""
import os
import re

import pytest

pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTION = "## Plans that change"


def _blocks():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return re.findall(r"```python\n(.*?)```", text[start:end if end >= 0 else None], flags=re.S)


def test_the_section_has_examples():
    assert len(_blocks()) >= 5


def test_every_example_of_the_section_runs(capsys):
    namespace = {}
    for i, block in enumerate(_blocks()):
        exec(compile(block, f"README.md[{SECTION} block {i}]", "exec"), namespace)
    out = capsys.readouterr().out
    assert "changed on resume at step 30" in out and "T_max 100 -> 200" in out
