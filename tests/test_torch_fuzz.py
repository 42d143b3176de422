"""Fuzzing of state dicts for every lrkit.torch scheduler (Hypothesis): a valid state, saved by lrkit or by
torch's own class, is corrupted (values replaced by junk: huge, NaN, negative, wrong types, nested junk;
keys deleted or added; lists truncated or retyped) and loaded into a scheduler that has stepped elsewhere.

Each load either succeeds, after which the LRs are finite and non-negative and the scheduler steps on
(values or lrkit's error), or raises lrkit's error and leaves the scheduler exactly as it was: its
attributes (the same objects, unchanged), its state_dict, the schedulers inside it and the optimizer's
param groups. Every load and step finishes within ``LIMIT_S`` seconds (an alarm interrupts a hang).

``LRKIT_FUZZ_EXAMPLES`` (default 300) is the number of examples of the whole file, spread over its cases;
a long run sets it (``LRKIT_FUZZ_EXAMPLES=5000``) and draws new examples (not derandomized).
"""
import copy
import math
import os
import signal

from test_torch_support import K, T, make_optimizer, pytest, torch, warnings

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import lrkit  # noqa: E402

LIMIT_S = 5.0


def _decay(epoch):
    return 0.95 ** epoch


class _Factor:
    """A callable object: torch saves its ``__dict__`` in LambdaLR's state."""

    def __init__(self):
        self.rate = 0.9

    def __call__(self, epoch):
        return self.rate ** epoch


#: name -> build(module, optimizer); module is torch.optim.lr_scheduler or lrkit.torch
BUILD = {
    "LambdaLR": lambda M, o: M.LambdaLR(o, lr_lambda=[_decay, _Factor()]),
    "MultiplicativeLR": lambda M, o: M.MultiplicativeLR(o, lr_lambda=_decay),
    "StepLR": lambda M, o: M.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda M, o: M.MultiStepLR(o, milestones=[2, 5, 5, 9]),
    "ConstantLR": lambda M, o: M.ConstantLR(o, factor=0.5, total_iters=4),
    "LinearLR": lambda M, o: M.LinearLR(o, start_factor=0.2, total_iters=6),
    "ExponentialLR": lambda M, o: M.ExponentialLR(o, gamma=0.9),
    "PolynomialLR": lambda M, o: M.PolynomialLR(o, total_iters=8, power=2.0),
    "CosineAnnealingLR": lambda M, o: M.CosineAnnealingLR(o, T_max=5, eta_min=1e-3),
    "CyclicLR": lambda M, o: M.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range", gamma=0.9),
    "OneCycleLR": lambda M, o: M.OneCycleLR(o, max_lr=[0.1, 1.0], total_steps=40, three_phase=True),
    "CosineAnnealingWarmRestarts": lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=1e-4),
    "ReduceLROnPlateau": lambda M, o: M.ReduceLROnPlateau(o, patience=1, min_lr=[0.001, 0.002]),
    "SequentialLR": lambda M, o: M.SequentialLR(o, [M.LinearLR(o, 0.1, total_iters=4), M.ExponentialLR(o, 0.9)],
                                                [4]),
    "ChainedScheduler": lambda M, o: M.ChainedScheduler([M.ExponentialLR(o, 0.99), M.StepLR(o, 10, 0.5)]),
    "ScheduleLR": lambda M, o: K.ScheduleLR(o, "warmup(cosine(1.0, 0.0, steps=20), steps=3)", relative=True,
                                            momentum="linear(0.9, 0.8, steps=10)",
                                            plateau=lrkit.plateau(patience=1), reduce=None),
}
CASES = [(name, "lrkit") for name in BUILD] + [(name, "torch") for name in BUILD if name != "ScheduleLR"]
EXAMPLES = int(os.environ.get("LRKIT_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=max(10, EXAMPLES // len(CASES)), derandomize="LRKIT_FUZZ_EXAMPLES" not in os.environ,
                database=None, deadline=None, suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate])  # (no shrinking: a failure shows the state as drawn)


class Hang(BaseException):
    """Raised by the alarm: a load or a step ran past LIMIT_S."""


class _time_limit:
    def __enter__(self):
        def alarm(signum, frame):
            raise Hang(f"ran past {LIMIT_S} s")
        self.previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, LIMIT_S)

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)


def _step(sched, opt, i):
    opt.step()
    if isinstance(sched, T.ReduceLROnPlateau):  # (lrkit's is a subclass of torch's)
        sched.step(1.0 if i % 3 else 2.0)
    else:
        sched.step()
    if isinstance(sched, K.ScheduleLR) and i % 2:
        sched.report(1.0)


def _stepped(M, name, steps, edit=False):
    opt = make_optimizer(tensor=(False, False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = BUILD[name](M, opt)
        for i in range(steps):
            _step(sched, opt, i)
            if edit and i == 2 and name not in ("OneCycleLR", "CyclicLR"):
                opt.param_groups[0]["lr"] *= 0.5  # (a rebase is state too)
    return sched, opt


_BASES = {}


def _base_state(name, source):
    """A valid state_dict saved by lrkit's or torch's class after 7 steps and a hand edit."""
    if (name, source) not in _BASES:
        sched, _ = _stepped(T if source == "torch" else K, name, 7, edit=True)
        _BASES[name, source] = sched.state_dict()
    return copy.deepcopy(_BASES[name, source])


# =================================================================================================
# corruption
# =================================================================================================
_SPECIAL = [0, -1, -2, 1, 2 ** 53 + 1, -10 ** 9, 10 ** 30, 2 ** 63, -(2 ** 63), 0.0, -0.0, -1e-300, 1e308,
            -1e308, 5e-324, math.nan, math.inf, -math.inf, "", "nan", "1", b"\x00", True, False, None, (), [], {}]
_scalar = st.one_of(st.sampled_from(_SPECIAL), st.integers(-2 ** 70, 2 ** 70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4),
                    st.floats(-1e6, 1e6).map(lambda x: torch.tensor(x, dtype=torch.float64)))
_junk = st.recursive(_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.one_of(st.text(max_size=3), st.integers()),
                                                                      inner, max_size=3),
                                                      st.tuples(inner, inner)), max_leaves=6)


def _paths(value, path=()):
    """Every path into the nested dicts and lists of a state."""
    found = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, path + (i,))
    return found


def _at(state, path):
    for key in path:
        state = state[key]
    return state


def _corrupt(state, data):
    """1 to 3 corruptions of ``state`` (in place), drawn from ``data``."""
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(state)
        path = data.draw(st.sampled_from(paths[1:] or paths))
        op = data.draw(st.sampled_from(["junk", "junk", "delete", "add", "retype", "scale"]))
        if not path:
            return
        parent, key = _at(state, path[:-1]), path[-1]
        old = parent[key]
        if op == "junk":
            parent[key] = data.draw(_junk)
        elif op == "delete":
            if isinstance(parent, dict):
                del parent[key]
            else:
                del parent[key:]  # (a truncated list)
        elif op == "add":
            target = old if isinstance(old, dict) else parent
            if isinstance(target, dict):
                target[data.draw(st.text(max_size=6))] = data.draw(_junk)
            else:
                target.append(data.draw(_junk))
        elif op == "retype":
            if isinstance(old, list):
                parent[key] = data.draw(st.sampled_from([tuple(old), dict(enumerate(old)), old * 2, old[:0]]))
            elif isinstance(old, bool) or not isinstance(old, (int, float)):
                parent[key] = data.draw(_scalar)
            else:
                parent[key] = data.draw(st.sampled_from([str(old), float(old), [old], {"v": old},
                                                         torch.tensor(float(old)), int(old) if math.isfinite(old)
                                                         else old]))
        elif isinstance(old, (int, float)) and not isinstance(old, bool):
            parent[key] = old * data.draw(st.sampled_from([-1, 0, 2 ** 60, 1e-300, 1e300, math.nan, -math.inf]))
    return state


# =================================================================================================
# what a rejected load must leave unchanged
# =================================================================================================
def _plain(value, depth=0):
    """A comparable picture of a value: the object's identity and, for containers and lrkit's objects, their
    contents (one level of attributes for objects, tensors by dtype and value)."""
    if isinstance(value, torch.Tensor):
        return ("tensor", id(value), value.dtype, value.detach().clone().tolist())
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, id(value), [_plain(v, depth + 1) for v in value])
    if isinstance(value, dict):
        return ("dict", id(value), {k: _plain(v, depth + 1) for k, v in value.items() if k != "params"})
    if depth < 2 and hasattr(value, "__dict__") and type(value).__module__.startswith("lrkit"):
        return (type(value).__name__, id(value), {k: _plain(v, depth + 1) for k, v in vars(value).items()})
    if isinstance(value, float) and math.isnan(value):
        return ("nan", id(value))
    return (type(value).__name__, id(value), value if isinstance(value, (int, float, str, bool, type(None)))
            else None)


def _picture(sched, opt):
    subs = [_plain(vars(s)) for s in getattr(sched, "_schedulers", [])]
    fns = [_plain(vars(fn)) for fn in getattr(sched, "lr_lambdas", []) if isinstance(fn, _Factor)]
    return _plain(vars(sched)), subs, fns, [_plain(g) for g in opt.param_groups]


def _lrs(opt, sched):
    values = [g["lr"] for g in opt.param_groups] + list(sched.get_last_lr())
    return [v.item() if isinstance(v, torch.Tensor) else v for v in values]


def _fine(values):
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < math.inf for v in values)


@pytest.mark.parametrize("name, source", CASES)
@FUZZ
@given(data=st.data())
def test_corrupted_state_dicts_load_or_are_refused_without_a_trace(name, source, data):
    state = _corrupt(_base_state(name, source), data)
    try:
        given_state = copy.deepcopy(state)
    except Exception:
        given_state = None
    sched, opt = _stepped(K, name, 4)
    before = _picture(sched, opt)
    state_before = sched.state_dict()
    try:
        with _time_limit():
            sched.load_state_dict(state)
    except Hang:
        pytest.fail(f"load_state_dict ran past {LIMIT_S} s on {state!r}")
    except lrkit.LrkitError:
        assert _picture(sched, opt) == before, "a rejected load changed the scheduler or the optimizer"
        assert repr(sched.state_dict()) == repr(state_before)
        return
    if given_state is not None:
        assert repr(state) == repr(given_state), "load_state_dict changed its argument"
    assert _fine(_lrs(opt, sched)), f"loaded LRs {_lrs(opt, sched)} from {state!r}"
    for i in range(3):  # the loaded scheduler steps on: values, or lrkit's error
        try:
            with _time_limit(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _step(sched, opt, i)
        except Hang:
            pytest.fail(f"a step after loading {state!r} ran past {LIMIT_S} s")
        except lrkit.LrkitError:
            break
        assert _fine(_lrs(opt, sched)), f"step {i} after loading {state!r}: LRs {_lrs(opt, sched)}"


@pytest.mark.parametrize("name, source", CASES)
def test_the_uncorrupted_state_loads(name, source):
    """The fuzz's starting points are valid states: each loads and gives the saved LRs."""
    saver, saver_opt = _stepped(T if source == "torch" else K, name, 7, edit=True)
    sched, opt = _stepped(K, name, 4)
    opt.load_state_dict(saver_opt.state_dict())
    sched.load_state_dict(_base_state(name, source))
    assert _lrs(opt, sched)[:2] == pytest.approx(_lrs(saver_opt, saver)[:2], rel=1e-12)
