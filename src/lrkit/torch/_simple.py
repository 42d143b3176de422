"""The drop-ins that are one unit curve times each group's base LR: LambdaLR, MultiplicativeLR, StepLR,
MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR, CosineAnnealingLR.

All but LambdaLR are chainable in torch (each LR computed from the group's current one): they rebase on
changes made by others (see ``_step``).
"""
import numbers
from collections import Counter

from torch.optim import lr_scheduler as torch_lr_scheduler

from .._errors import LrkitTypeError, LrkitValueError
from .._recipes import cosine_wave, multistep, step_decay
from .._running import RunningProduct
from .._scaling import Scaling
from .._shapes import exponential, function, linear, multiplicative, piecewise_constant, polynomial
from ._arguments import callable_state, check_optimizer, copy_config, distinct, integer, non_negative, positive
from ._loading import MAX_REPEATS, MAX_STEP, attributes, each, fields, optional, real, state_error
from ._loading import integer as integer_rule
from ._replan import check_drop_in_policy
from ._scheduler import LRScheduler
from ._step import Hyperparameter


def _lr_lambdas(optimizer, lr_lambda):
    """One function per param group (torch's rule for ``lr_lambda``)."""
    n = len(optimizer.param_groups)
    if not isinstance(lr_lambda, (list, tuple)):
        return [lr_lambda] * n
    if len(lr_lambda) != n:
        raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
    return list(lr_lambda)


class _Lambdas:
    """The state of ``lr_lambdas`` as torch keeps it: a callable object's ``__dict__``, not a function."""

    def _config(self):
        return {"lr_lambdas": [callable_state(fn) for fn in self.lr_lambdas]}

    def _config_rules(self):
        return {"lr_lambdas": each(attributes, lambda: len(self.lr_lambdas))}

    def _load_config(self, state):
        saved = state.get("lr_lambdas")
        if isinstance(saved, list):
            for fn, data in zip(self.lr_lambdas, saved):
                if data is not None:
                    fn.__dict__.update(data)


class LambdaLR(_Lambdas, LRScheduler, torch_lr_scheduler.LambdaLR):
    """torch's LambdaLR: ``lr = base_lr * lr_lambda(epoch)``; lrkit: ``function(lr_lambda) * base_lr``."""
    _no_smooth = "its plan is a Python function (lr_lambda), which a state_dict does not hold"

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        check_optimizer(optimizer)
        self.optimizer = optimizer
        self.lr_lambdas = _lr_lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def _make_hyperparameters(self):
        fns, where = distinct(self.lr_lambdas)
        return [Hyperparameter("lr", [function(fn) for fn in fns], where, Scaling(self._bases()))]


class MultiplicativeLR(_Lambdas, LRScheduler, torch_lr_scheduler.MultiplicativeLR):
    """torch's MultiplicativeLR: the LR times ``lr_lambda(epoch)`` at every step.

    ``base_lr * prod(lr_lambda(j) for j in 1..k)``: the core's ``multiplicative(lr_lambda)``, stepped as a
    running product (constant memory at any number of updates; the state_dict holds the product and its
    step, so a resume does not multiply again). The product is formed in the order torch forms it
    (``lr * lr_lambda(k)``, step by step), but torch multiplies the LR itself and lrkit the unit product
    that it then scales by ``base_lr``: the two drift apart by rounding, about one ulp per step at worst
    (1e-12 relative after ~1e4 steps with a float64 LR).
    """
    _chainable = True
    _no_smooth = LambdaLR._no_smooth

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        check_optimizer(optimizer)
        self.optimizer = optimizer
        self.lr_lambdas = _lr_lambdas(optimizer, lr_lambda)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda should be a function, but got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    _loaded_products = None  # (set by ``_load_extra``, taken by ``_make_hyperparameters``)

    def _make_hyperparameters(self):
        fns, where = distinct(self.lr_lambdas)
        h = _RunningHyperparameter("lr", [multiplicative(fn) for fn in fns], where, Scaling(self._bases()),
                                   chainable=True)
        saved = self._loaded_products  # (a loaded state's products: not multiplied again)
        if saved is not None:  # (no ``__dict__`` read at construction: it would slow every attribute lookup)
            del self._loaded_products  # (the class's None again)
        if isinstance(saved, list) and len(saved) == len(h.running):
            for p, state in zip(h.running, saved):
                p.load(state)
        return [h]

    def _lrkit_state(self):
        state = super()._lrkit_state()
        state["products"] = [p.state() for p in self._hyperparameters[0].running]
        return state

    def _lrkit_rules(self):
        product = fields({"step": integer_rule(0), "value": real(0), "previous": optional(real(0))},
                         required=("step", "value"))
        return {**super()._lrkit_rules(), "products": each(product, lambda: len(distinct(self.lr_lambdas)[0]))}

    def _load_extra(self, state):
        lrkit_state = state.get("lrkit") if isinstance(state.get("lrkit"), dict) else {}
        products = lrkit_state.get("products")
        if products is not None:
            self._loaded_products = products  # (taken by ``_make_hyperparameters``)



class _RunningHyperparameter(Hyperparameter):
    """MultiplicativeLR's LR: each unit's running product (constant memory, see ``lrkit._running``), not
    the core ``multiplicative``'s cache of every product."""

    def __init__(self, key, units, unit_of_group, scaling, chainable=False, adjust=None):
        self.running = [RunningProduct(u) for u in units]
        super().__init__(key, units, unit_of_group, scaling, chainable, adjust)
        if self._unit_at is not None:
            self._unit_at = self.running[0]

    def unit_values(self, t):
        return [p(t) for p in self.running]


class StepLR(LRScheduler, torch_lr_scheduler.StepLR):
    """torch's StepLR: ``base_lr * gamma ** (epoch // step_size)``; lrkit: ``step_decay(1, step_size, gamma)``."""
    _chainable = True
    _CONFIG = ("step_size", "gamma")

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1, *, on_change=None):
        self.on_change = check_drop_in_policy(on_change, type(self))
        self.step_size = integer("step_size", step_size, 1)
        self.gamma = non_negative("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def _config_rules(self):
        return {"step_size": integer_rule(1), "gamma": real(0)}

    def _make_hyperparameters(self):
        return self._unit_hyperparameter(step_decay(1.0, period=self.step_size, gamma=self.gamma))


class MultiStepLR(LRScheduler, torch_lr_scheduler.MultiStepLR):
    """torch's MultiStepLR: ``base_lr * gamma ** #{milestones <= epoch}`` (a repeated milestone counts
    as many times as it appears, as torch); lrkit: ``multistep(1, milestones, gamma)``."""
    _chainable = True

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1, *, on_change=None):
        self.on_change = check_drop_in_policy(on_change, type(self))
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise LrkitTypeError(f"milestones must be a list of integers, got {milestones!r}")
        values = list(milestones)
        if not (set(map(type, values)) <= {int} and (not values or min(values) >= 0)):  # (plain ints: checked)
            values = [integer(f"milestones[{i}]", m, 0) for i, m in enumerate(values)]
        for i in range(1, len(values)):
            if values[i] < values[i - 1]:
                raise LrkitValueError(
                    f"milestones must be sorted (non-decreasing), got {values!r} "
                    f"(milestones[{i}]={values[i]!r} < milestones[{i - 1}]={values[i - 1]!r})")
        self.milestones = Counter(values)
        self.gamma = non_negative("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def _make_hyperparameters(self):
        counts = dict(self.milestones)
        layers = []
        while counts:  # a milestone given n times: n layers of multistep, multiplied (core mul)
            layers.append(sorted(counts))
            counts = {m: c - 1 for m, c in counts.items() if c > 1}
        unit = multistep(1.0, milestones=layers[0] if layers else [], gamma=self.gamma)
        for layer in layers[1:]:
            unit = unit * multistep(1.0, milestones=layer, gamma=self.gamma)
        return self._unit_hyperparameter(unit)

    def _config(self):
        return {"milestones": sorted(self.milestones.elements()), "gamma": self.gamma}

    def _config_rules(self):
        def milestones(path, value):
            if isinstance(value, Counter):
                for m, c in value.items():
                    integer_rule(0)(f"{path} key", m)
                    integer_rule(0, MAX_REPEATS)(f"{path}[{m!r}]", c)
            else:
                each(integer_rule(0))(path, value)
                repeats = Counter(value).most_common(1)
                if repeats and repeats[0][1] > MAX_REPEATS:
                    raise state_error(path, f"must repeat a milestone at most {MAX_REPEATS} times",
                                      repeats[0][0])
        return {"milestones": milestones, "gamma": real(0)}

    def _load_config(self, state):
        if "milestones" in state:
            m = state["milestones"]
            self.milestones = Counter(m.elements() if isinstance(m, Counter) else m)
        copy_config(state, ("gamma",), self)


class ConstantLR(LRScheduler, torch_lr_scheduler.ConstantLR):
    """torch's ConstantLR: ``base_lr * factor`` until ``total_iters``, then ``base_lr``; lrkit:
    ``piecewise_constant([total_iters], [factor, 1])``."""
    _chainable = True
    _CONFIG = ("factor", "total_iters")

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1, *, on_change=None):
        self.on_change = check_drop_in_policy(on_change, type(self))
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor = non_negative("factor", factor)
        self.total_iters = integer("total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def _config_rules(self):
        return {"factor": real(0, 1), "total_iters": integer_rule(1)}

    def _make_hyperparameters(self):
        return self._unit_hyperparameter(piecewise_constant([self.total_iters], [self.factor, 1.0]))


class LinearLR(LRScheduler, torch_lr_scheduler.LinearLR):
    """torch's LinearLR: the factor goes linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters``; lrkit: ``linear(start_factor, end_factor, total_iters)``."""
    _chainable = True
    _CONFIG = ("start_factor", "end_factor", "total_iters")

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1, *, on_change=None):
        self.on_change = check_drop_in_policy(on_change, type(self))
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(
                "Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = positive("start_factor", start_factor)
        self.end_factor = non_negative("end_factor", end_factor)
        self.total_iters = integer("total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def _config_rules(self):
        return {"start_factor": real(0, 1, above=True), "end_factor": real(0, 1), "total_iters": integer_rule(1)}

    def _make_hyperparameters(self):
        return self._unit_hyperparameter(linear(self.start_factor, self.end_factor, steps=self.total_iters))


class ExponentialLR(LRScheduler, torch_lr_scheduler.ExponentialLR):
    """torch's ExponentialLR: ``base_lr * gamma ** epoch``; lrkit: ``exponential(1, gamma)``."""
    _chainable = True
    _CONFIG = ("gamma",)

    def __init__(self, optimizer, gamma, last_epoch=-1, *, on_change=None):
        self.on_change = check_drop_in_policy(on_change, type(self))
        self.gamma = non_negative("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def _config_rules(self):
        return {"gamma": real(0)}

    def _make_hyperparameters(self):
        return self._unit_hyperparameter(exponential(1.0, self.gamma))


class PolynomialLR(LRScheduler, torch_lr_scheduler.PolynomialLR):
    """torch's PolynomialLR: ``base_lr * (1 - min(epoch, total_iters) / total_iters) ** power``; lrkit:
    ``polynomial(1, 0, total_iters, power)``."""
    _chainable = True
    _CONFIG = ("total_iters", "power")

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1, *, on_change=None):
        self.on_change = check_drop_in_policy(on_change, type(self))
        self.total_iters = integer("total_iters", total_iters, 1)
        self.power = positive("power", power)
        super().__init__(optimizer, last_epoch)

    def _config_rules(self):
        return {"total_iters": integer_rule(1), "power": real(0, above=True)}

    def _make_hyperparameters(self):
        return self._unit_hyperparameter(polynomial(1.0, 0.0, steps=self.total_iters, power=self.power))


class CosineAnnealingLR(LRScheduler, torch_lr_scheduler.CosineAnnealingLR):
    """torch's CosineAnnealingLR, which does not stop at ``T_max`` but follows the cosine back up
    (period ``2 * T_max``); lrkit: ``cosine_wave(1, 0, T_max)`` as ``eta_min + (base_lr - eta_min) * unit``.
    (lrkit's own ``cosine`` holds after its end.)"""
    _chainable = True
    _CONFIG = ("T_max", "eta_min")

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1, *, on_change=None):
        self.on_change = check_drop_in_policy(on_change, type(self))
        self.T_max = integer("T_max", T_max, 1) if isinstance(T_max, numbers.Integral) else positive("T_max", T_max)
        self.eta_min = non_negative("eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def _config_rules(self):
        def t_max(path, value):
            (integer_rule(1) if isinstance(value, numbers.Integral) else real(0, MAX_STEP, above=True))(path, value)
        return {"T_max": t_max, "eta_min": real(0)}

    def _make_hyperparameters(self):
        return self._unit_hyperparameter(cosine_wave(1.0, 0.0, steps=self.T_max), anchor=self.eta_min)
