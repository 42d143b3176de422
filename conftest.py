import pytest

import lrkit


@pytest.fixture(autouse=True)
def _lrkit_names(doctest_namespace):
    doctest_namespace.update({name: getattr(lrkit, name) for name in lrkit.__all__})
