"""lrkit's own exceptions (subclasses of ValueError / TypeError, raised at construction) and warnings."""


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
