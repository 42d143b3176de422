"""lrkit's own exceptions (subclasses of ValueError / TypeError, raised at construction) and warnings."""
import reprlib


class LrkitError(Exception):
    """Base class of every error lrkit raises on purpose."""


class LrkitValueError(LrkitError, ValueError):
    """An argument has the right type but a value the schedule cannot use."""


class LrkitTypeError(LrkitError, TypeError):
    """An argument has a type lrkit cannot use."""


class SpecError(LrkitValueError):
    """A spec string or a config dict names something lrkit does not allow."""


class ExtrapolationWarning(UserWarning):
    """A loss prediction (:mod:`lrkit.predict`) outside the range of runs the law was fitted on."""


_EXCERPT = reprlib.Repr()
_EXCERPT.maxstring = _EXCERPT.maxother = 120
_EXCERPT.maxlong = 60
_EXCERPT.maxlist = _EXCERPT.maxtuple = _EXCERPT.maxdict = _EXCERPT.maxset = 8
_EXCERPT.maxlevel = 4


def excerpt(value):
    """``repr(value)``, shortened to a bounded excerpt (about 120 characters per string or object and
    8 items per container): every message that quotes user input quotes it through this."""
    try:
        return _EXCERPT.repr(value)
    except Exception:  # a user object whose repr fails
        return f"<{type(value).__name__} object>"
