"""The README's interactive examples (```python blocks of ``>>>`` lines) run as doctests: the output shown
is the output lrkit gives. Each block starts with ``lrkit`` imported, as the README assumes."""
import doctest
import os
import re

import pytest

import lrkit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _examples():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    found = []
    for match in re.finditer(r"```python\n(>>> .*?)```", text, flags=re.S):
        line = text.count("\n", 0, match.start()) + 2
        found.append(pytest.param(match.group(1), line, id=f"README.md:{line}"))
    return found


def test_the_readme_has_interactive_examples():
    assert len(_examples()) >= 3


@pytest.mark.parametrize("block, line", _examples())
def test_an_interactive_example_gives_its_output(block, line):
    pytest.importorskip("torch")
    parser = doctest.DocTestParser()
    test = parser.get_doctest(block, {"lrkit": lrkit}, f"README.md:{line}", "README.md", line)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0, f"README.md line {line}: {runner.failures} example(s) differ (see the output above)"
