"""What every real-run test of the monitor asserts: the one mistake set up is the one warned about."""
from lrkit.monitor import MonitorWarning


def monitor_warnings(caught):
    """The monitor's warnings among ``warnings.catch_warnings(record=True)``'s, as text."""
    return [str(w.message) for w in caught if issubclass(w.category, MonitorWarning)]


def assert_only(findings, warned, case, message):
    """``message`` None: no finding, no warning; else every finding is of kind ``case`` and the one
    warning (each kind is warned about once) says ``message``."""
    kinds = {f.kind for f in findings}
    if message is None:
        assert warned == [] and kinds == set()
    else:
        assert kinds == {case} and len(warned) == 1 and message in warned[0], (kinds, warned)
