"""lrkit.torch with hostile or wrong input (issue 12, torch side): the step-order warning points at the
user's line; ``load_state_dict`` validates the whole state, then applies it (a rejected load changes
nothing); a value written into an optimizer is finite and non-negative; the plateau stage's ``eps``."""
import math
import sys

from test_torch_dropins import _advance, _same_state_builders
from test_torch_support import K, T, lrs_of, make_optimizer, pytest, torch, warnings

import lrkit


# =================================================================================================
# the step-order warning points at the user's scheduler.step() line
# =================================================================================================
def _order_cases():
    builders = dict(_same_state_builders())
    builders.pop("ReduceLROnPlateau")  # (steps with a metric and checks no order, as torch's)
    builders.pop("CosineAnnealingWarmRestarts")  # (torch's checks no step order either)
    return builders


@pytest.mark.parametrize("name", sorted(_order_cases()))
def test_step_order_warning_points_at_the_users_step_call(name):
    opt = make_optimizer(tensor=(False, False))
    sched = _order_cases()[name](opt)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1
        sched.step()
    order = [w for w in caught if "Detected call of `lr_scheduler.step()`" in str(w.message)]
    assert order, [str(w.message) for w in caught]  # (ChainedScheduler: one per member, as torch)
    assert {(w.filename, w.lineno) for w in order} == {(__file__, line)}
